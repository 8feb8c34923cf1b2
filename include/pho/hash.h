/* SPDX-License-Identifier: MIT */
/**
 * @file hash.h
 * Perceptual hashes of a decoded photo, 64 bits each.
 *
 * dHash is computed the way the original Python tool did (imagehash.dhash):
 * grey (Pillow's BT.601 fixed point), Lanczos-resized to 9x8, bit = right
 * pixel brighter than left, row-major, first bit most significant, so its
 * `--threshold` keeps its meaning (Hamming distance 0..64). pHash follows
 * imagehash.phash: 32x32 grey, 2-D DCT-II, the top-left 8x8 coefficients
 * compared with their median.
 *
 * Pure functions of the pixels; thread-safe.
 */
#ifndef PHO_HASH_H
#define PHO_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pho/common.h"
#include "pho/error.h"
#include "pho/image.h"

PHO_BEGIN_DECLS

enum pho_hash_kind {
    PHO_HASH_DHASH = 0,
    PHO_HASH_PHASH = 1,
};

/** Side of the grey verification thumbnail of a signature. */
#define PHO_HASH_THUMB 32
/** Centre crops a signature hashes: 90 % and 80 % of each side. */
#define PHO_HASH_CROPS 2

/**
 * What the grouping's default rule needs of a photo beyond its dHash and
 * pHash: the hashes of its centre crops, so that a cropped copy is found by
 * a hash search, and a small grey thumbnail of the whole frame (stretched to
 * a square) and a coarse colour histogram that verify a candidate pair.
 */
struct pho_hash_sig {
    uint64_t crop_dhash[PHO_HASH_CROPS];            /**< dHash of the 90 % and 80 % centre crops */
    uint64_t crop_phash[PHO_HASH_CROPS];            /**< pHash of the same crops */
    uint8_t thumb[PHO_HASH_THUMB * PHO_HASH_THUMB]; /**< grey (Pillow "L"), row-major */
    /** Colour histogram: 4 levels per channel (bin = 16 r + 4 g + b of the top two bits),
     *  each bin's share of the pixels in 1/255 (rounded). */
    uint8_t colour[64];
    /** dHash of the picture mirrored left-right, and turned 90 degrees clockwise: finds
     *  flipped copies and rotated ones whose EXIF tag does not undo the turn. */
    uint64_t turned_dhash[2];
};

/**
 * Computes the signature of @p img (upright, as the hashes see it).
 * @return 0, PHO_EINVAL for an empty image, PHO_ENOMEM.
 */
PHO_API int pho_hash_signature(struct pho_hash_sig *out, const struct pho_image *img);

/** Computes the dHash of @p img. @return 0, or PHO_EINVAL for an empty image. */
PHO_API int pho_hash_dhash(uint64_t *out, const struct pho_image *img);

/** Computes the pHash of @p img. @return 0, or PHO_EINVAL for an empty image. */
PHO_API int pho_hash_phash(uint64_t *out, const struct pho_image *img);

/** Number of differing bits, 0..64. */
static inline int pho_hash_distance(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

/** 16 lowercase hex digits and a NUL (imagehash's str()), into @p out[17]. */
PHO_API void pho_hash_format(char out[17], uint64_t hash);

/** Parses 16 hex digits (either case). @return 0 or PHO_EINVAL. */
PHO_API int pho_hash_parse(uint64_t *out, const char *hex);

/** "dhash" / "phash". */
PHO_API const char *pho_hash_kind_name(enum pho_hash_kind kind);

/** Parses "dhash" / "phash". @return 0 or PHO_EINVAL. */
PHO_API int pho_hash_kind_parse(enum pho_hash_kind *out, const char *name);

PHO_END_DECLS

#endif /* PHO_HASH_H */
