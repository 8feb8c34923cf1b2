/* SPDX-License-Identifier: MIT */
/*
 * Verification of a candidate pair: normalised cross-correlation of the two
 * 32x32 grey thumbnails (hash/signature.c), the best over centre crops of
 * either side, so that a cropped copy or a reframed burst shot still
 * correlates with its original.
 *
 * On ../shared/testdata/neardup (docs/grouping.md) copies score 0.95-1.00,
 * burst frames 0.45-0.99, and unrelated photos whose hashes are within 16
 * bits at most 0.49: the hash proposes, the correlation decides.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "group/internal.h"

#define N      PHO_HASH_THUMB
#define NCROPS 4
#define FLAT_VAR                                                                    \
    1.0 /* per-pixel variance (grey levels squared) below which a thumbnail is flat \
         */

static const float crop_side[NCROPS] = { 1.0f, 0.9f, 0.8f, 0.7f };

/* The centre @frac of @src, bilinear, as N x N floats with the mean removed. */
static void prepare(float *dst, const uint8_t *src, float frac, double *mean, double *var)
{
    float side = frac * N, off = (N - side) / 2.0f, step = side / N;
    double sum = 0;
    for (int y = 0; y < N; y++) {
        float sy = off + (y + 0.5f) * step - 0.5f;
        sy = sy < 0 ? 0 : sy > N - 1 ? N - 1 : sy;
        int y0 = (int)sy, y1 = y0 + 1 < N ? y0 + 1 : y0;
        float fy = sy - y0;
        for (int x = 0; x < N; x++) {
            float sx = off + (x + 0.5f) * step - 0.5f;
            sx = sx < 0 ? 0 : sx > N - 1 ? N - 1 : sx;
            int x0 = (int)sx, x1 = x0 + 1 < N ? x0 + 1 : x0;
            float fx = sx - x0;
            float top = src[y0 * N + x0] + fx * (src[y0 * N + x1] - src[y0 * N + x0]);
            float bot = src[y1 * N + x0] + fx * (src[y1 * N + x1] - src[y1 * N + x0]);
            float v = top + fy * (bot - top);
            dst[y * N + x] = v;
            sum += v;
        }
    }
    double m = sum / (N * N), ss = 0;
    for (int i = 0; i < N * N; i++) {
        dst[i] = (float)(dst[i] - m);
        ss += (double)dst[i] * dst[i];
    }
    *mean = m;
    *var = ss / (N * N);
}

static double ncc(const float *a, double va, const float *b, double vb)
{
    double dot = 0;
    for (int i = 0; i < N * N; i++)
        dot += (double)a[i] * b[i];
    return dot / (N * N) / sqrt(va * vb);
}

float pho_group__colour(const struct pho_hash_sig *a, const struct pho_hash_sig *b)
{
    unsigned sum = 0;
    for (int i = 0; i < 64; i++)
        sum += PHO_MIN(a->colour[i], b->colour[i]);
    return sum >= 255 ? 1.0f : (float)sum / 255.0f;
}

float pho_group__similarity(const struct pho_hash_sig *a, const struct pho_hash_sig *b)
{
    float pa[NCROPS][N * N], pb[NCROPS][N * N];
    double ma[NCROPS], va[NCROPS], mb[NCROPS], vb[NCROPS];
    prepare(pa[0], a->thumb, 1.0f, &ma[0], &va[0]);
    prepare(pb[0], b->thumb, 1.0f, &mb[0], &vb[0]);
    bool flat_a = va[0] < FLAT_VAR, flat_b = vb[0] < FLAT_VAR;
    if (flat_a || flat_b) /* nothing to correlate: alike only when both are flat and as bright */
        return flat_a && flat_b && fabs(ma[0] - mb[0]) < 8.0 ? 1.0f : 0.0f;
    double best = ncc(pa[0], va[0], pb[0], vb[0]);
    for (int k = 1; k < NCROPS; k++) {
        prepare(pa[k], a->thumb, crop_side[k], &ma[k], &va[k]);
        prepare(pb[k], b->thumb, crop_side[k], &mb[k], &vb[k]);
        if (va[k] >= FLAT_VAR)
            best = PHO_MAX(best, ncc(pa[k], va[k], pb[0], vb[0]));
        if (vb[k] >= FLAT_VAR)
            best = PHO_MAX(best, ncc(pa[0], va[0], pb[k], vb[k]));
    }
    return (float)best;
}
