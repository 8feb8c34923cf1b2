/* SPDX-License-Identifier: MIT */
/*
 * Private to src/exif and src/image: the EXIF tags photo-organizer reads,
 * collected from whichever parser reached them, then mapped to struct
 * pho_meta by one function.
 *
 * Two parsers feed it. libexif parses an EXIF *block* (a JPEG APP1, a PNG
 * eXIf chunk, the EXIF item of a HEIF), but reads at most 64 KiB. LibRaw
 * walks a TIFF-structured *file* (TIFF, DNG, NEF, CR2, ARW, CR3's CMT
 * boxes, RAF's TIFF part, …) wherever its IFD offsets point and hands every
 * tag to a callback, so EXIF written after megabytes of pixels is reached.
 * Both fill the same set; the mapping (exif.c) never knows which parser ran.
 *
 * Only the tags the mapping wants are kept (a fixed table, no allocation),
 * and the first value seen for a (directory, tag) wins: LibRaw visits IFD0
 * before later IFDs and maker notes.
 */
#ifndef PHO_EXIF_TAGS_H
#define PHO_EXIF_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/exif.h"

PHO_BEGIN_DECLS

/* The directories a tag can come from. */
enum pho_exif_dir {
    PHO_EXIF_DIR_0,    /* IFD0: the primary image (Make, Model, Orientation, DateTime) */
    PHO_EXIF_DIR_EXIF, /* the EXIF sub-IFD (0x8769) */
    PHO_EXIF_DIR_GPS,  /* the GPS sub-IFD (0x8825) */
};

/* TIFF field types, as stored. */
enum {
    PHO_TIFF_BYTE = 1,
    PHO_TIFF_ASCII = 2,
    PHO_TIFF_SHORT = 3,
    PHO_TIFF_LONG = 4,
    PHO_TIFF_RATIONAL = 5,
    PHO_TIFF_UNDEFINED = 7,
    PHO_TIFF_SSHORT = 8,
    PHO_TIFF_SLONG = 9,
    PHO_TIFF_SRATIONAL = 10,
};

/* Longest value kept: an ASCII field beyond this is cut (pho_meta's strings are shorter). */
#define PHO_EXIF_VALUE_MAX 128
#define PHO_EXIF_SLOTS     40

struct pho_exif_value {
    bool present;
    bool big_endian;
    uint16_t type;
    uint32_t count; /* items as declared by the file */
    uint32_t size;  /* bytes held in data (≤ PHO_EXIF_VALUE_MAX) */
    uint8_t data[PHO_EXIF_VALUE_MAX];
};

struct pho_exif_tags {
    struct pho_exif_value v[PHO_EXIF_SLOTS];
    unsigned found; /* values stored */
};

/* Empties @t. */
void pho_exif_tags_init(struct pho_exif_tags *t);

/* Bytes per item of TIFF type @type (libexif's table); 0 for unknown types. */
size_t pho_exif_tags_type_size(unsigned type);

/* How many bytes of (@dir, @tag) the set wants: 0 when it does not keep it. */
size_t pho_exif_tags_wanted(enum pho_exif_dir dir, unsigned tag);

/* Stores a value unless (@dir, @tag) is unwanted or already set; @size bytes
 * of @data are copied (cut to what is wanted). @type is the TIFF type. */
void pho_exif_tags_add(struct pho_exif_tags *t, enum pho_exif_dir dir, unsigned tag, unsigned type,
                       uint32_t count, const void *data, size_t size, bool big_endian);

/* The stored value, or NULL. */
const struct pho_exif_value *pho_exif_tags_get(const struct pho_exif_tags *t, enum pho_exif_dir dir,
                                               unsigned tag);

/* Trust in a time source: lower is better; PHO_TIME_NONE ranks last. */
int pho_exif_time_rank(enum pho_time_source src);

/* Maps the set to @m, keeping what @m already holds where the set has
 * nothing better (exif.c). Sets PHO_META_EXIF when the set holds anything. */
void pho_exif_tags_apply(struct pho_meta *m, const struct pho_exif_tags *t);

PHO_END_DECLS

#endif /* PHO_EXIF_TAGS_H */
