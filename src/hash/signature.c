/* SPDX-License-Identifier: MIT */
/*
 * The signature the default grouping rule works from (docs/grouping.md):
 * dHash and pHash of two centre crops, and a 32x32 grey thumbnail of the
 * whole frame.
 *
 * Why crops: an 80-90 % crop of a photo is 10-28 bits from the original in
 * both hashes (the ../shared/testdata/neardup set), as far as unrelated
 * photos are, so no threshold on the full-frame hashes finds it. The hash of
 * the crop of the original is 0-3 bits from the hash of the cropped copy,
 * so looking each photo's crop hashes up among all full-frame hashes finds
 * the copy at the same small radius as a re-encode.
 *
 * Why a thumbnail: a hash distance says "maybe"; the correlation of two
 * thumbnails (group/verify.c) decides, so a looser hash search never costs
 * precision. It is the very image the pHash is made from (Pillow's grey,
 * Lanczos to 32x32), so it costs one resize. The colour histogram is a
 * second, independent witness: two frames of one scene share their
 * palette even when the subject moved.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "hash/resample.h"
#include "pho/hash.h"

/* The crops, as a fraction of each side. */
static const double crop_side[PHO_HASH_CROPS] = { 0.9, 0.8 };

/* A view of the centre @frac of @img (no copy: same pixels, same stride). */
static struct pho_image centre_crop(const struct pho_image *img, double frac)
{
    uint32_t w = (uint32_t)lround(img->width * frac), h = (uint32_t)lround(img->height * frac);
    w = PHO_MAX(w, 1u);
    h = PHO_MAX(h, 1u);
    uint32_t x0 = (img->width - w) / 2, y0 = (img->height - h) / 2;
    struct pho_image v = *img;
    v.width = w;
    v.height = h;
    v.pixels = img->pixels + (size_t)y0 * img->stride + (size_t)x0 * 3;
    return v;
}

/* Each 4x4x4 RGB bin's share of the pixels, in 1/255. */
static void colour_histogram(uint8_t out[64], const struct pho_image *img)
{
    uint64_t count[64] = { 0 };
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *px = img->pixels + (size_t)y * img->stride;
        for (uint32_t x = 0; x < img->width; x++, px += 3)
            count[(px[0] >> 6) * 16 + (px[1] >> 6) * 4 + (px[2] >> 6)]++;
    }
    uint64_t total = (uint64_t)img->width * img->height;
    for (int b = 0; b < 64; b++)
        out[b] = (uint8_t)((count[b] * 255 + total / 2) / total);
}

int pho_hash_signature(struct pho_hash_sig *out, const struct pho_image *img)
{
    memset(out, 0, sizeof(*out));
    if (!img || !img->width || !img->height || !img->pixels || img->stride < (size_t)img->width * 3)
        return PHO_EINVAL;
    int rc = pho_resample__grey(out->thumb, PHO_HASH_THUMB, PHO_HASH_THUMB, img);
    for (int k = 0; rc == 0 && k < PHO_HASH_CROPS; k++) {
        struct pho_image crop = centre_crop(img, crop_side[k]);
        uint8_t d[9 * 8], p[32 * 32];
        rc = pho_resample__grey(d, 9, 8, &crop);
        if (rc == 0)
            rc = pho_resample__grey(p, 32, 32, &crop);
        if (rc == 0) {
            out->crop_dhash[k] = pho_hash__dhash_bits(d);
            out->crop_phash[k] = pho_hash__phash_bits(p);
        }
    }
    if (rc == 0)
        colour_histogram(out->colour, img);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}
