/* SPDX-License-Identifier: MIT */
/* An EXIF block for an upright new rendition of its photo (src/exif/upright.h), by libexif. */
#include "core/common.h"

#include <stdlib.h>
#include <string.h>

#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>

#include "exif/upright.h"

/* Sets a one-value SHORT or LONG entry of @ifd to @v, when the block has it. */
static void set_count(ExifData *d, ExifIfd ifd, ExifTag tag, uint32_t v)
{
    ExifEntry *e = exif_content_get_entry(d->ifd[ifd], tag);
    if (!e || !e->data || e->components != 1)
        return;
    ExifByteOrder bo = exif_data_get_byte_order(d);
    if (e->format == EXIF_FORMAT_SHORT && e->size >= 2 && v <= 0xffff)
        exif_set_short(e->data, bo, (ExifShort)v);
    else if (e->format == EXIF_FORMAT_LONG && e->size >= 4)
        exif_set_long(e->data, bo, v);
}

int pho_exif__upright(void **out, size_t *len, const void *exif, size_t exif_len, uint32_t w,
                      uint32_t h)
{
    *out = NULL;
    *len = 0;
    if (!exif || exif_len < 14 || exif_len > UINT32_MAX)
        return PHO_ECORRUPT;
    ExifData *d = exif_data_new();
    if (!d)
        return PHO_ENOMEM;
    /* Keep the block as it is: no mandatory tags added, none "fixed". */
    exif_data_unset_option(d, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(d, exif, (unsigned int)exif_len);
    int rc = 0;
    if (!d->ifd[EXIF_IFD_0] || d->ifd[EXIF_IFD_0]->count == 0) {
        rc = PHO_ECORRUPT;
        goto out;
    }
    set_count(d, EXIF_IFD_0, EXIF_TAG_ORIENTATION, 1);
    set_count(d, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_X_DIMENSION, w);
    set_count(d, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION, h);
    /* The thumbnail and its IFD: exif_data_new() allocates with the default allocator
     * (malloc/free), so the stream is freed the same way. */
    free(d->data);
    d->data = NULL;
    d->size = 0;
    ExifContent *ifd1 = d->ifd[EXIF_IFD_1];
    while (ifd1 && ifd1->count)
        exif_content_remove_entry(ifd1, ifd1->entries[ifd1->count - 1]);
    unsigned char *buf = NULL;
    unsigned int n = 0;
    exif_data_save_data(d, &buf, &n);
    if (!buf || !n) {
        rc = PHO_ENOMEM;
        goto out;
    }
    *out = pho_malloc(n);
    if (!*out) {
        rc = PHO_ENOMEM;
    } else {
        memcpy(*out, buf, n);
        *len = n;
    }
    free(buf);
out:
    exif_data_unref(d);
    return rc;
}
