/* SPDX-License-Identifier: MIT */
/*
 * Private to src/image: LibRaw opened through a stream with a read budget.
 *
 * LibRaw walks the maker's container where its offsets and counts point, and
 * a damaged or hostile file can make it loop for hours (fuzzing found a
 * 3 KiB file whose Phase One directory claims four billion entries, each read
 * with a seek). Every read, seek and character LibRaw takes goes through this
 * stream; past a budget proportional to the file's size (far more than any
 * real file needs, even for a byte-by-byte decode) the stream makes LibRaw
 * give up with an I/O error, and pho_image__raw_stream_spent() says why.
 * LibRaw is C++; raw_stream.cpp is this module's only C++ and no exception
 * crosses this boundary.
 */
#ifndef PHO_IMAGE_RAW_STREAM_H
#define PHO_IMAGE_RAW_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <libraw/libraw.h>

#include "exif/tags.h"

#ifdef __cplusplus
extern "C" {
#endif

struct pho_raw_stream;

/* Opens @lr (from libraw_init) on the file @path, or on @data/@len when @path
 * is NULL. When @tags is not NULL, every wanted EXIF tag LibRaw's walk of the
 * container meets is stored there (its whole-file reach is why: libexif
 * stops at 64 KiB), whether or not LibRaw then finds raw data. Returns LibRaw's status; *@stream is
 * set either way (NULL only when it could not be made) and is freed with
 * pho_image__raw_stream_free() after libraw_close(@lr), never before: LibRaw reads through it until
 * then. */
int pho_image__raw_open(libraw_data_t *lr, struct pho_raw_stream **stream, const char *path,
                        const void *data, size_t len, struct pho_exif_tags *tags);
/* Where LibRaw, after opening, expects the raw data and the embedded preview:
 * what lets a cut-off or metadata-only RAW be told from a whole one. */
struct pho_raw_extent {
    long long data_offset;   /* first byte of the raw data */
    unsigned long data_size; /* its length when the container states it, else 0 */
    long long thumb_offset;  /* first byte of the preview (length: thumbnail.tlength) */
    long long file_size;     /* bytes in the file or buffer, -1 if unknown */
};
void pho_image__raw_extent(const libraw_data_t *lr, struct pho_raw_extent *out);

/* True once the read budget ran out (LibRaw then failed with an I/O error). */
bool pho_image__raw_stream_spent(const struct pho_raw_stream *stream);
/* Reads, seeks and characters LibRaw took so far. */
unsigned long long pho_image__raw_stream_calls(const struct pho_raw_stream *stream);
void pho_image__raw_stream_free(struct pho_raw_stream *stream);

#ifdef __cplusplus
}
#endif

#endif
