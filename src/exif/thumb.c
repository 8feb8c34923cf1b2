/* SPDX-License-Identifier: MIT */
/*
 * The EXIF thumbnail (src/exif/thumb.h). libexif already locates it: IFD1's
 * JPEGInterchangeFormat / Length, bounds-checked against the block. Only a
 * JPEG stream counts; uncompressed (TIFF-strip) thumbnails are rare and are
 * left to the full decode.
 */
#include "core/common.h"

#include <string.h>

#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>

#include "exif/thumb.h"

/* A SHORT or LONG count of pixels, 0 when absent or of another type. */
static uint32_t pixel_count(ExifData *d, ExifTag tag)
{
    ExifEntry *e = exif_content_get_entry(d->ifd[EXIF_IFD_EXIF], tag);
    if (!e || !e->data || e->components != 1)
        return 0;
    ExifByteOrder bo = exif_data_get_byte_order(d);
    if (e->format == EXIF_FORMAT_SHORT && e->size >= 2)
        return exif_get_short(e->data, bo);
    if (e->format == EXIF_FORMAT_LONG && e->size >= 4)
        return exif_get_long(e->data, bo);
    return 0;
}

int pho_exif__thumb(struct pho_exif_thumb *out, const void *exif, size_t len)
{
    memset(out, 0, sizeof(*out));
    if (!exif || len < 14 || len > UINT32_MAX)
        return PHO_ENOTFOUND;
    ExifData *d = exif_data_new();
    if (!d)
        return PHO_ENOMEM;
    exif_data_unset_option(d, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(d, exif, (unsigned int)len);
    int rc = PHO_ENOTFOUND;
    /* A JPEG stream starts with SOI; anything else is not ours to decode. */
    if (d->data && d->size >= 4 && d->data[0] == 0xff && d->data[1] == 0xd8) {
        out->jpeg = pho_malloc(d->size);
        if (!out->jpeg) {
            rc = PHO_ENOMEM;
        } else {
            memcpy(out->jpeg, d->data, d->size);
            out->len = d->size;
            out->pixel_w = pixel_count(d, EXIF_TAG_PIXEL_X_DIMENSION);
            out->pixel_h = pixel_count(d, EXIF_TAG_PIXEL_Y_DIMENSION);
            rc = 0;
        }
    }
    exif_data_unref(d);
    return rc;
}

void pho_exif__thumb_release(struct pho_exif_thumb *t)
{
    if (!t)
        return;
    pho_free(t->jpeg);
    memset(t, 0, sizeof(*t));
}
