/* SPDX-License-Identifier: MIT */
/*
 * Private to the hash module: the grey conversion and the antialiasing
 * Lanczos resize that imagehash got from Pillow, reproduced so hashes keep
 * the original tool's meaning (see resample.c for the exact arithmetic).
 */
#ifndef PHO_HASH_RESAMPLE_H
#define PHO_HASH_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "pho/image.h"

/* Pillow's RGB -> "L": BT.601 weights in 16-bit fixed point, rounded. */
static inline uint8_t pho_resample__luma(uint8_t r, uint8_t g, uint8_t b)
{
    return (uint8_t)(((uint32_t)r * 19595u + (uint32_t)g * 38470u + (uint32_t)b * 7471u +
                      0x8000u) >>
                     16);
}

/*
 * Resizes a single-channel 8-bit image (rows @p stride bytes apart) to
 * @p ow x @p oh into @p out (ow * oh bytes, tightly packed).
 * @return 0, PHO_EINVAL (a zero size), PHO_ENOMEM.
 */
int pho_resample__lanczos8(uint8_t *out, uint32_t ow, uint32_t oh, const uint8_t *in, size_t stride,
                           uint32_t iw, uint32_t ih);

/*
 * Converts @p img to grey and resizes it to @p ow x @p oh into @p out, without
 * materialising the full-size grey image.
 * @return 0, PHO_EINVAL (empty image or zero size), PHO_ENOMEM.
 */
int pho_resample__grey(uint8_t *out, uint32_t ow, uint32_t oh, const struct pho_image *img);

/* The bits of a dHash from its 9x8 grey image, of a pHash from its 32x32 one (hash.c). */
uint64_t pho_hash__dhash_bits(const uint8_t *g9x8);
uint64_t pho_hash__phash_bits(const uint8_t *g32x32);

#endif /* PHO_HASH_RESAMPLE_H */
