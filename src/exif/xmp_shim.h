/* SPDX-License-Identifier: MIT */
/*
 * Private to the library: an XMP packet to read and edit, through Exiv2
 * (C++; xmp_shim.cpp is its only user). What the program writes into sidecars
 * (src/organize/sidecar.c) is decided in C; this layer only parses, edits by
 * Exiv2 key ("Xmp.xmp.Rating", "Xmp.dc.subject") and serialises. Everything
 * else a packet holds (other tools' namespaces, structures, language
 * alternatives) is kept as parsed.
 *
 * No C++ exception crosses this boundary and nothing is printed: Exiv2's
 * messages are taken by our log handler, and a parse failure comes back as
 * PHO_XMP_BAD with Exiv2's reason in @why.
 *
 * Thread safety: Exiv2 is set up once (with a lock for its XMP toolkit); one
 * document is used by one thread at a time.
 */
#ifndef PHO_EXIF_XMP_SHIM_H
#define PHO_EXIF_XMP_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Our own namespace: the reason for a choice and what we wrote, so a later run can tell
 * our values from the user's. */
#define PHO_XMP_NS     "http://ns.photo-organizer.invalid/xmp/1.0/"
#define PHO_XMP_PREFIX "phorg"

enum { PHO_XMP_OK = 0, PHO_XMP_BAD = 1, PHO_XMP_NOMEM = 2 };

struct pho_xmp_doc;

/* Parses @len bytes of @text (an XMP packet, with or without its xpacket wrapper); @len 0
 * makes an empty document. PHO_XMP_BAD: not XMP (@why says why). */
int pho_xmp__doc_parse(struct pho_xmp_doc **out, const char *text, size_t len, char *why,
                       size_t why_size);
void pho_xmp__doc_free(struct pho_xmp_doc *doc);

/* The values of @key: one for a simple property, each item of an array; *n = 0 when absent.
 * Free with pho_xmp__strv_free. */
int pho_xmp__doc_get(char ***items, size_t *n, const struct pho_xmp_doc *doc, const char *key);
void pho_xmp__strv_free(char **items, size_t n);

/* Sets the simple property @key to @value (NULL: removes it). */
int pho_xmp__doc_set_text(struct pho_xmp_doc *doc, const char *key, const char *value);
/* Sets @key to an unordered array (rdf:Bag) of @items (n = 0: removes it). */
int pho_xmp__doc_set_bag(struct pho_xmp_doc *doc, const char *key, const char *const *items,
                         size_t n);
/* Removes every property whose key starts with @prefix ("Xmp.phorg."). */
void pho_xmp__doc_drop(struct pho_xmp_doc *doc, const char *prefix);
/* Whether the document holds no property at all. */
int pho_xmp__doc_empty(const struct pho_xmp_doc *doc);

/* The document as a sidecar: an x:xmpmeta element without the xpacket wrapper, UTF-8,
 * ending with a newline. Free with pho_xmp__text_free. */
int pho_xmp__doc_serialize(char **out, size_t *len, const struct pho_xmp_doc *doc, char *why,
                           size_t why_size);
void pho_xmp__text_free(char *text);

#ifdef __cplusplus
}
#endif

#endif
