/* SPDX-License-Identifier: MIT */
/*
 * Image quality without faces. Every measurement runs on one grey copy of
 * the photo (BT.601 luma of the coded sRGB values, reduced by area averaging
 * to PHO_QUALITY_SIZE on the long side, never enlarged), so a photo decoded
 * at 1600 px and one decoded at 700 px are judged at the same scale:
 * sharpness (variance of the Laplacian), exposure (clipped fractions, mean),
 * noise (Immerkaer's estimator away from edges) and, when a model is given,
 * BRISQUE (brisque.c). pho_quality_score() folds them into one number;
 * docs/quality.md explains each term and weight.
 *
 * It runs once per photo of a library, so the grey copy is made in one pass
 * over the decoded pixels and the metrics take two passes over the copy;
 * only scratch memory is allocated, so any number of threads may measure.
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "quality/internal.h"

/* ---- analysis image ---------------------------------------------------- */

/*
 * Area averaging from @in to @out pixels (out <= in): output pixel o is the
 * mean of the source over [o*in/out, (o+1)*in/out), so each takes at most
 * ceil(in/out) + 1 source pixels. Overlaps are computed on a common integer
 * axis (source pixel i spans [i*out, (i+1)*out), output o spans [o*in, (o+1)*in)),
 * so weights are exact ratios and an identity reduction copies.
 */
struct area_plan {
    uint32_t taps;   /* weights per output pixel */
    uint32_t *first; /* first source pixel of each output pixel */
    float *w;        /* out x taps weights, zero-padded */
};

static int area_plan(struct area_plan *p, uint32_t in, uint32_t out)
{
    p->taps = (uint32_t)((in + out - 1) / out) + 1;
    p->first = pho_reallocarray(NULL, out, sizeof(*p->first));
    p->w = pho_calloc((size_t)out * p->taps, sizeof(*p->w));
    if (!p->first || !p->w)
        return PHO_ENOMEM;
    for (uint32_t o = 0; o < out; o++) {
        uint64_t a = (uint64_t)o * in, b = a + in;
        uint32_t i = (uint32_t)(a / out);
        p->first[o] = i;
        for (uint32_t t = 0; t < p->taps && i < in; t++, i++) {
            uint64_t s0 = (uint64_t)i * out, s1 = s0 + out;
            uint64_t lo = PHO_MAX(a, s0), hi = PHO_MIN(b, s1);
            p->w[(size_t)o * p->taps + t] = hi > lo ? (float)((double)(hi - lo) / in) : 0.f;
        }
    }
    return 0;
}

static void area_plan_free(struct area_plan *p)
{
    pho_free(p->first);
    pho_free(p->w);
}

int pho_quality__grey(struct pho_grey *g, const struct pho_image *img, struct pho_err *err)
{
    struct area_plan px = { 0 }, py = { 0 };
    float *acc = NULL, *luma = NULL, *row = NULL;
    int rc = 0;
    memset(g, 0, sizeof(*g));
    if (!img || !img->pixels || !img->width || !img->height || img->stride < 3 * (size_t)img->width)
        return pho_err_set(err, PHO_EINVAL, "quality: no image or bad image layout");

    uint32_t w = img->width, h = img->height, longest = PHO_MAX(w, h);
    uint32_t ow = w, oh = h;
    if (longest > PHO_QUALITY_SIZE) {
        double s = (double)PHO_QUALITY_SIZE / longest;
        ow = w == longest ? PHO_QUALITY_SIZE : (uint32_t)PHO_MAX(1.0, floor(w * s + 0.5));
        oh = h == longest ? PHO_QUALITY_SIZE : (uint32_t)PHO_MAX(1.0, floor(h * s + 0.5));
    }
    if (area_plan(&px, w, ow) || area_plan(&py, h, oh)) {
        rc = pho_err_set(err, PHO_ENOMEM, "quality: out of memory for a %ux%u image", ow, oh);
        goto out;
    }
    acc = pho_calloc((size_t)ow * oh, sizeof(*acc));
    /* Padded: the last output pixel's zero-weighted taps may reach past the row. */
    luma = pho_calloc((size_t)w + px.taps, sizeof(*luma));
    row = pho_reallocarray(NULL, ow, sizeof(*row));
    g->px = pho_malloc((size_t)ow * oh);
    if (!acc || !luma || !row || !g->px) {
        rc = pho_err_set(err, PHO_ENOMEM, "quality: out of memory for a %ux%u image", ow, oh);
        goto out;
    }
    g->w = ow;
    g->h = oh;

    /* Each source row is turned into luma and reduced across once, then
     * spread over the (at most two) output rows it overlaps. */
    for (uint32_t y = 0, oy = 0; y < h; y++) {
        const uint8_t *s = img->pixels + (size_t)y * img->stride;
        for (uint32_t x = 0; x < w; x++, s += 3)
            /* BT.601 weights in 16-bit fixed point; they sum to 65536 so grey stays grey. */
            luma[x] = (float)(19595u * s[0] + 38470u * s[1] + 7471u * s[2]) * (1.f / 65536);
        for (uint32_t o = 0; o < ow; o++) {
            const float *wt = px.w + (size_t)o * px.taps, *l = luma + px.first[o];
            float v = 0;
            for (uint32_t t = 0; t < px.taps; t++)
                v += wt[t] * l[t];
            row[o] = v;
        }
        while (oy < oh && py.first[oy] + py.taps <= y)
            oy++;
        for (uint32_t r = oy; r < oh && py.first[r] <= y; r++) {
            float wy = py.w[(size_t)r * py.taps + (y - py.first[r])];
            if (wy == 0)
                continue;
            float *a = acc + (size_t)r * ow;
            for (uint32_t x = 0; x < ow; x++)
                a[x] += wy * row[x];
        }
    }
    for (size_t i = 0; i < (size_t)ow * oh; i++) {
        float v = acc[i] + 0.5f;
        g->px[i] = v >= 255.f ? 255 : v <= 0.f ? 0 : (uint8_t)v;
    }
out:
    if (rc) {
        pho_free(g->px);
        memset(g, 0, sizeof(*g));
    }
    area_plan_free(&px);
    area_plan_free(&py);
    pho_free(acc);
    pho_free(luma);
    pho_free(row);
    return rc;
}

/* ---- metrics ----------------------------------------------------------- */

#define SOBEL_MAX  2040 /* |gx| + |gy| of 8-bit data */
#define EDGE_SHARE 0.10 /* Tai and Yang: the strongest tenth of gradients are edges */

static void measure_grey(struct pho_quality *q, const struct pho_grey *g)
{
    size_t w = g->w, h = g->h, n = w * h;
    uint64_t sum = 0, high = 0, low = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t v = g->px[i];
        sum += v;
        high += v >= 250;
        low += v <= 5;
    }
    q->mean_luma = (double)sum / n;
    q->clipped_high = (double)high / n;
    q->clipped_low = (double)low / n;
    q->sharpness = 0;
    q->noise = 0;
    if (w < 3 || h < 3)
        return;

    /*
     * One pass over the interior gives the Laplacian's moments and, per
     * gradient magnitude, the count and summed response of Immerkaer's mask
     *     1 -2  1
     *    -2  4 -2
     *     1 -2  1
     * (J. Immerkaer, "Fast Noise Variance Estimation", CVIU 64(2), 1996),
     * which cancels smooth shading but not edges; binning by Sobel magnitude
     * lets the edges be left out afterwards (S.-C. Tai and S.-M. Yang, "A
     * fast method for image noise estimation using Laplacian operator and
     * adaptive edge detection", ISCCSP 2008) without a second pass.
     */
    struct {
        uint32_t count[SOBEL_MAX + 1];
        uint64_t resp[SOBEL_MAX + 1];
    } bins = { { 0 }, { 0 } };
    int64_t lsum = 0;
    uint64_t lsq = 0;
    for (size_t y = 1; y + 1 < h; y++) {
        const uint8_t *u = g->px + (y - 1) * w, *c = u + w, *d = c + w;
        for (size_t x = 1; x + 1 < w; x++) {
            int nw = u[x - 1], no = u[x], ne = u[x + 1];
            int we = c[x - 1], ce = c[x], ea = c[x + 1];
            int sw = d[x - 1], so = d[x], se = d[x + 1];
            int edges = no + we + ea + so, corners = nw + ne + sw + se;
            int lap = edges - 4 * ce;
            lsum += lap;
            lsq += (uint64_t)(lap * lap);
            int mask = corners - 2 * edges + 4 * ce;
            int gx = (ne + 2 * ea + se) - (nw + 2 * we + sw);
            int gy = (sw + 2 * so + se) - (nw + 2 * no + ne);
            int mag = (gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy);
            bins.count[mag]++;
            bins.resp[mag] += (uint64_t)(mask < 0 ? -mask : mask);
        }
    }
    double m = (double)(w - 2) * (h - 2);
    double mean = lsum / m;
    q->sharpness = (double)lsq / m - mean * mean;
    if (q->sharpness < 0)
        q->sharpness = 0;

    /* Smallest magnitudes first, until at least (1 - EDGE_SHARE) of the pixels are in. */
    uint64_t used = 0, resp = 0;
    double want = (1 - EDGE_SHARE) * m;
    for (int i = 0; i <= SOBEL_MAX && (double)used < want; i++) {
        used += bins.count[i];
        resp += bins.resp[i];
    }
    /* For Gaussian noise E|mask response| = sigma * 6 * sqrt(2 / pi). */
    if (used)
        q->noise = sqrt(M_PI / 2) * (double)resp / (6.0 * (double)used);
}

int pho_quality_measure(struct pho_quality *out, const struct pho_image *img, double megapixels,
                        const struct pho_brisque *brisque, struct pho_err *err)
{
    struct pho_grey g = { 0 };
    if (!out)
        return pho_err_set(err, PHO_EINVAL, "quality: no output");
    memset(out, 0, sizeof(*out));
    out->brisque = NAN;
    out->megapixels = megapixels;
    int rc = pho_quality__grey(&g, img, err);
    if (rc)
        goto out;
    measure_grey(out, &g);
    /* Too small for BRISQUE's fits: left out, as when no model is given. */
    if (brisque && g.w >= PHO_BRISQUE_MIN_SIDE && g.h >= PHO_BRISQUE_MIN_SIDE &&
        (rc = pho_quality__brisque_grey(&out->brisque, brisque, &g, err)))
        goto out;
    out->score = pho_quality_score(out);
out:
    pho_free(g.px);
    return rc;
}

/* ---- score ------------------------------------------------------------- */

/* Weights of the terms; docs/quality.md gives the reasons. Terms that could
 * not be measured drop out and the others are rescaled to sum to 1. */
#define W_SHARP   0.30
#define W_EXPOSE  0.20
#define W_NOISE   0.10
#define W_BRISQUE 0.15
#define W_RES     0.25

/* NaN (a field nobody measured) counts as 0. */
static double clamp01(double v)
{
    return !(v > 0) ? 0 : v > 1 ? 1 : v;
}

/* Laplacian variance on a log scale: 10 (no detail at all) -> 0, 3000 (crisp,
 * fine texture at 480 px) -> 1. Blur divides the variance, so equal steps of
 * blur cost equal amounts. */
static double sharpness_term(double v)
{
    if (!(v > 10))
        return 0;
    return clamp01(log10(v / 10) / log10(3000.0 / 10));
}

/*
 * Blown highlights beyond the 1% specular glints give: gone at 11%, since
 * they are lost detail, often in faces or sky. Crushed shadows beyond 10%
 * cost at most half, since dark backgrounds are common and deliberate. A
 * mean outside 51..191 (0.2..0.75 of full scale) fades to nothing at black
 * or white.
 */
static double exposure_term(const struct pho_quality *q)
{
    double highlights = 1 - clamp01((q->clipped_high - 0.01) / 0.10);
    double shadows = 1 - 0.5 * clamp01((q->clipped_low - 0.10) / 0.50);
    double m = q->mean_luma;
    double level = m < 51 ? m / 51 : m > 191 ? (255 - m) / 64 : 1;
    return highlights * shadows * clamp01(level);
}

/* 1 for a clean image, 1/2 at sigma 4 grey levels (at analysis size). */
static double noise_term(double sigma)
{
    double r = sigma / 4;
    return 1 / (1 + r * r);
}

/* Saturating: 0.3 MP -> 0.26, 2 MP -> 0.86, 12 MP and 24 MP -> 1.00. */
static double resolution_term(double mp)
{
    return 1 - exp(-mp);
}

double pho_quality_score(const struct pho_quality *q)
{
    if (!q)
        return 0;
    double sum = W_SHARP * sharpness_term(q->sharpness) + W_EXPOSE * exposure_term(q) +
                 W_NOISE * noise_term(q->noise);
    double weight = W_SHARP + W_EXPOSE + W_NOISE;
    if (isfinite(q->brisque)) {
        sum += W_BRISQUE * (1 - clamp01(q->brisque / 100));
        weight += W_BRISQUE;
    }
    if (isfinite(q->megapixels) && q->megapixels > 0) {
        sum += W_RES * resolution_term(q->megapixels);
        weight += W_RES;
    }
    return clamp01(sum / weight);
}
