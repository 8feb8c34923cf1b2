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
 * precision. The thumbnail and the crops' hashes come from one grey image of
 * at most 128 px (Pillow's grey and Lanczos, as the hashes), so they cost
 * about one resize of the working image; the crop hashes need not match
 * imagehash's bit for bit, only each other. The colour histogram is a
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

/* Long side of the grey image the signature is made from. */
#define BASE_SIDE 128

/* The centre @frac of a w x h grey image: its origin and size. */
static void centre_crop(uint32_t w, uint32_t h, double frac, uint32_t *x0, uint32_t *y0,
                        uint32_t *cw, uint32_t *ch)
{
    *cw = PHO_MAX((uint32_t)lround(w * frac), 1u);
    *ch = PHO_MAX((uint32_t)lround(h * frac), 1u);
    *x0 = (w - *cw) / 2;
    *y0 = (h - *ch) / 2;
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

/* dHash of @g (w x h grey) mirrored left-right, and turned 90 degrees clockwise. */
static int turned_hashes(uint64_t out[2], const uint8_t *g, uint32_t w, uint32_t h)
{
    uint8_t *t = pho_malloc((size_t)w * h);
    if (!t)
        return PHO_ENOMEM;
    uint8_t d[9 * 8];
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            t[y * w + x] = g[y * w + (w - 1 - x)];
    int rc = pho_resample__lanczos8(d, 9, 8, t, w, w, h);
    if (rc == 0)
        out[0] = pho_hash__dhash_bits(d);
    /* Turned clockwise: h wide, w high; new (x, y) shows old (y, h - 1 - x). */
    for (uint32_t y = 0; rc == 0 && y < w; y++)
        for (uint32_t x = 0; x < h; x++)
            t[y * h + x] = g[(h - 1 - x) * w + y];
    if (rc == 0)
        rc = pho_resample__lanczos8(d, 9, 8, t, h, h, w);
    if (rc == 0)
        out[1] = pho_hash__dhash_bits(d);
    pho_free(t);
    return rc;
}

int pho_hash_signature(struct pho_hash_sig *out, const struct pho_image *img)
{
    memset(out, 0, sizeof(*out));
    if (!img || !img->width || !img->height || !img->pixels || img->stride < (size_t)img->width * 3)
        return PHO_EINVAL;
    /* One grey image of at most BASE_SIDE px, then every small image from it: a fifth
     * of the cost of resampling the working image five times. */
    uint32_t lw = img->width, lh = img->height, side = PHO_MAX(lw, lh);
    if (side > BASE_SIDE) {
        lw = PHO_MAX((uint32_t)lround((double)lw * BASE_SIDE / side), 1u);
        lh = PHO_MAX((uint32_t)lround((double)lh * BASE_SIDE / side), 1u);
    }
    uint8_t *g = pho_malloc((size_t)lw * lh);
    if (!g)
        return PHO_ENOMEM;
    int rc = pho_resample__grey(g, lw, lh, img);
    if (rc == 0)
        rc = pho_resample__lanczos8(out->thumb, PHO_HASH_THUMB, PHO_HASH_THUMB, g, lw, lw, lh);
    for (int k = 0; rc == 0 && k < PHO_HASH_CROPS; k++) {
        uint32_t x0, y0, cw, ch;
        centre_crop(lw, lh, crop_side[k], &x0, &y0, &cw, &ch);
        const uint8_t *c = g + (size_t)y0 * lw + x0;
        uint8_t d[9 * 8], p[32 * 32];
        rc = pho_resample__lanczos8(d, 9, 8, c, lw, cw, ch);
        if (rc == 0)
            rc = pho_resample__lanczos8(p, 32, 32, c, lw, cw, ch);
        if (rc == 0) {
            out->crop_dhash[k] = pho_hash__dhash_bits(d);
            out->crop_phash[k] = pho_hash__phash_bits(p);
        }
    }
    if (rc == 0)
        rc = turned_hashes(out->turned_dhash, g, lw, lh);
    pho_free(g);
    if (rc == 0)
        colour_histogram(out->colour, img);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}
