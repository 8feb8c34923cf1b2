/* SPDX-License-Identifier: MIT */
/*
 * Private to src/exif and src/image: the JPEG thumbnail an EXIF block
 * carries (IFD1), with what the block says about the picture it belongs to.
 */
#ifndef PHO_EXIF_THUMB_H
#define PHO_EXIF_THUMB_H

#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"

PHO_BEGIN_DECLS

struct pho_exif_thumb {
    uint8_t *jpeg; /* the thumbnail's JPEG stream (owned) */
    size_t len;
    /* PixelXDimension / PixelYDimension of the EXIF sub-IFD: the size of the
     * image the block was written for; 0 when the block does not say. */
    uint32_t pixel_w, pixel_h;
};

/*
 * Copies the JPEG thumbnail out of an EXIF block ("Exif\0\0" + TIFF, as in a
 * JPEG's APP1). @return 0; PHO_ENOTFOUND when the block has no JPEG
 * thumbnail (or is unreadable); PHO_ENOMEM. Release with
 * pho_exif__thumb_release() (also after a failure).
 */
int pho_exif__thumb(struct pho_exif_thumb *out, const void *exif, size_t len);
void pho_exif__thumb_release(struct pho_exif_thumb *t);

PHO_END_DECLS

#endif
