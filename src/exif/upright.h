/* SPDX-License-Identifier: MIT */
/*
 * Private to src/exif and src/image: an EXIF block made fit for a new, upright rendition of
 * its photo (a repaired copy): orientation 1, the pixel size of the new pixels, and no
 * thumbnail (it would still show the old picture). Everything else is kept.
 */
#ifndef PHO_EXIF_UPRIGHT_H
#define PHO_EXIF_UPRIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"

PHO_BEGIN_DECLS

/* @exif ("Exif\0\0" + TIFF, as in a JPEG's APP1) rewritten for upright pixels of @w x @h.
 * *@out is the caller's (pho_free). @return 0; PHO_ECORRUPT when libexif cannot read it;
 * PHO_ENOMEM. */
int pho_exif__upright(void **out, size_t *len, const void *exif, size_t exif_len, uint32_t w,
                      uint32_t h);

PHO_END_DECLS

#endif
