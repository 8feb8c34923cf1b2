/* SPDX-License-Identifier: MIT */
/*
 * The resize that perceptual hashes are defined through. imagehash (used by
 * the original tool) converts to Pillow's "L" and calls Pillow's LANCZOS
 * resize, whose result decides every hash bit, so this file follows Pillow's
 * antialiasing resampler step for step rather than any nicer filter:
 *
 * - separable, horizontal pass first, then vertical; each pass is skipped
 *   when its dimension does not change;
 * - Lanczos, a = 3, with the support widened by the reduction factor (no
 *   widening when enlarging), taps centred on (i + 0.5) * scale, weights
 *   normalised to sum 1;
 * - weights in fixed point with 22 fractional bits, rounded half away from
 *   zero, accumulated from a bias of one half, and each pass's result
 *   clamped to 0..255, so the intermediate image is 8 bit as in Pillow.
 *
 * Only the input rows the vertical pass reads go through the horizontal
 * pass, and RGB is converted to grey one row at a time, so a large image
 * never needs a full-size grey copy.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "hash/resample.h"

#define PRECISION_BITS  (32 - 8 - 2)
#define LANCZOS_SUPPORT 3.0

/* Per output sample: the first input sample it reads, how many, and their weights. */
struct taps {
    uint32_t ksize;
    uint32_t *first;
    uint32_t *count;
    int32_t *k; /* out_size * ksize */
};

static double sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double lanczos(double x)
{
    /* Half-open like Pillow's, so a tap exactly at +3 counts as outside. */
    if (x >= -LANCZOS_SUPPORT && x < LANCZOS_SUPPORT)
        return sinc(x) * sinc(x / LANCZOS_SUPPORT);
    return 0.0;
}

static void taps_release(struct taps *t)
{
    pho_free(t->first);
    pho_free(t->count);
    pho_free(t->k);
}

static int taps_init(struct taps *t, uint32_t in_size, uint32_t out_size)
{
    memset(t, 0, sizeof(*t));
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = LANCZOS_SUPPORT * filterscale;
    t->ksize = (uint32_t)ceil(support) * 2 + 1;

    double *w = pho_calloc(t->ksize, sizeof(*w));
    t->first = pho_calloc(out_size, sizeof(*t->first));
    t->count = pho_calloc(out_size, sizeof(*t->count));
    t->k = pho_reallocarray(NULL, (size_t)out_size * t->ksize, sizeof(*t->k));
    if (!w || !t->first || !t->count || !t->k) {
        pho_free(w);
        taps_release(t);
        return PHO_ENOMEM;
    }
    for (uint32_t i = 0; i < out_size; i++) {
        double center = (i + 0.5) * scale;
        /* Truncation, not floor, as in Pillow; negative starts are clamped anyway. */
        int lo = (int)(center - support + 0.5);
        int hi = (int)(center + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > (int)in_size)
            hi = (int)in_size;
        int n = hi - lo;
        double sum = 0.0;
        for (int x = 0; x < n; x++) {
            w[x] = lanczos((x + lo - center + 0.5) / filterscale);
            sum += w[x];
        }
        int32_t *k = t->k + (size_t)i * t->ksize;
        for (int x = 0; x < (int)t->ksize; x++) {
            double v = x < n ? (sum != 0.0 ? w[x] / sum : w[x]) : 0.0;
            double f = v * (double)(1 << PRECISION_BITS);
            k[x] = (int32_t)(v < 0 ? f - 0.5 : f + 0.5);
        }
        t->first[i] = (uint32_t)lo;
        t->count[i] = (uint32_t)(n > 0 ? n : 0);
    }
    pho_free(w);
    return 0;
}

static inline uint8_t clip8(int64_t v)
{
    if (v < 0)
        return 0;
    v >>= PRECISION_BITS;
    return v > 255 ? 255 : (uint8_t)v;
}

static inline uint8_t convolve(const uint8_t *px, size_t step, const int32_t *k, uint32_t n)
{
    int64_t acc = (int64_t)1 << (PRECISION_BITS - 1);
    for (uint32_t x = 0; x < n; x++)
        acc += (int64_t)px[x * step] * k[x];
    return clip8(acc);
}

/* Where input rows come from: grey bytes as they are, or RGB converted on the fly. */
struct source {
    const uint8_t *base;
    size_t stride;
    uint32_t width, height;
    bool rgb;
    uint8_t *row; /* conversion buffer, width bytes */
};

static const uint8_t *source_row(const struct source *s, uint32_t y)
{
    const uint8_t *p = s->base + (size_t)y * s->stride;
    if (!s->rgb)
        return p;
    for (uint32_t x = 0; x < s->width; x++, p += 3)
        s->row[x] = pho_resample__luma(p[0], p[1], p[2]);
    return s->row;
}

static int resize(uint8_t *out, uint32_t ow, uint32_t oh, const struct source *src)
{
    uint32_t iw = src->width, ih = src->height;
    bool need_h = ow != iw, need_v = oh != ih;
    struct taps th = { 0 }, tv = { 0 };
    uint8_t *tmp = NULL;
    int rc = 0;

    uint32_t y0 = 0, y1 = ih;
    if (need_v) {
        rc = taps_init(&tv, ih, oh);
        if (rc)
            goto out;
        y0 = UINT32_MAX;
        y1 = 0;
        for (uint32_t i = 0; i < oh; i++) {
            if (tv.count[i] == 0)
                continue;
            y0 = PHO_MIN(y0, tv.first[i]);
            y1 = PHO_MAX(y1, tv.first[i] + tv.count[i]);
        }
        if (y0 > y1)
            y0 = y1 = 0;
    }
    if (need_h) {
        rc = taps_init(&th, iw, ow);
        if (rc)
            goto out;
    }

    /* Stage 1: the rows y0..y1 at the output width (the horizontal pass, or grey rows as they are).
     */
    uint8_t *stage = out;
    if (need_v) {
        tmp = pho_reallocarray(NULL, (size_t)(y1 - y0) ? (size_t)(y1 - y0) : 1, ow);
        if (!tmp) {
            rc = PHO_ENOMEM;
            goto out;
        }
        stage = tmp;
    }
    for (uint32_t y = y0; y < y1; y++) {
        const uint8_t *row = source_row(src, y);
        uint8_t *dst = stage + (size_t)(y - y0) * ow;
        if (!need_h) {
            memcpy(dst, row, ow);
            continue;
        }
        for (uint32_t x = 0; x < ow; x++)
            dst[x] = convolve(row + th.first[x], 1, th.k + (size_t)x * th.ksize, th.count[x]);
    }

    /* Stage 2: the vertical pass over the 8-bit intermediate. */
    if (need_v) {
        for (uint32_t y = 0; y < oh; y++) {
            const int32_t *k = tv.k + (size_t)y * tv.ksize;
            const uint8_t *col = tmp + (size_t)(tv.first[y] - y0) * ow;
            for (uint32_t x = 0; x < ow; x++)
                out[(size_t)y * ow + x] = convolve(col + x, ow, k, tv.count[y]);
        }
    }
out:
    pho_free(tmp);
    taps_release(&th);
    taps_release(&tv);
    return rc;
}

int pho_resample__lanczos8(uint8_t *out, uint32_t ow, uint32_t oh, const uint8_t *in, size_t stride,
                           uint32_t iw, uint32_t ih)
{
    if (!ow || !oh || !iw || !ih || !in)
        return PHO_EINVAL;
    struct source s = { .base = in, .stride = stride, .width = iw, .height = ih };
    return resize(out, ow, oh, &s);
}

int pho_resample__grey(uint8_t *out, uint32_t ow, uint32_t oh, const struct pho_image *img)
{
    if (!ow || !oh || !img || !img->width || !img->height || !img->pixels)
        return PHO_EINVAL;
    struct source s = {
        .base = img->pixels,
        .stride = img->stride,
        .width = img->width,
        .height = img->height,
        .rgb = true,
    };
    s.row = pho_malloc(img->width);
    if (!s.row)
        return PHO_ENOMEM;
    int rc = resize(out, ow, oh, &s);
    pho_free(s.row);
    return rc;
}
