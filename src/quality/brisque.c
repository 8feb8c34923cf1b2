/* SPDX-License-Identifier: MIT */
/*
 * BRISQUE (Mittal, Moorthy and Bovik, "No-Reference Image Quality Assessment
 * in the Spatial Domain", IEEE TIP 2012) scored with the support-vector
 * regressor trained on the LIVE database that OpenCV's quality module ships
 * and Debian packages in opencv-data.
 *
 * The model is read in brisque_model.c. Feature extraction follows cv::quality::QualityBRISQUE so
 * that scores agree with OpenCV's within a fraction of a point: grey values scaled to 0..1 in
 * float, MSCN coefficients from a 7x7 Gaussian (sigma 7/6, replicated border) local mean and
 * deviation, an asymmetric generalised Gaussian fit of the MSCN image and of its four neighbour
 * products, at full size and at half size (bicubic, a = -0.75).
 */
#include "core/common.h"

#include <math.h>
#include <string.h>

#include "quality/internal.h"

/* ---- features ---------------------------------------------------------- */

static size_t clampi(ptrdiff_t i, size_t n)
{
    return i < 0 ? 0 : i >= (ptrdiff_t)n ? n - 1 : (size_t)i;
}

/* Normalised 7-tap Gaussian, sigma 7/6: the window BRISQUE's authors chose. */
static void gauss_kernel(float k[7])
{
    const double sigma = 7.0 / 6.0;
    double w[7], sum = 0;
    for (int i = 0; i < 7; i++) {
        double d = i - 3;
        w[i] = exp(-d * d / (2 * sigma * sigma));
        sum += w[i];
    }
    for (int i = 0; i < 7; i++)
        k[i] = (float)(w[i] / sum);
}

static float blur7_clamped(const float *s, size_t x, size_t w, const float k[7])
{
    float acc = 0;
    for (int i = 0; i < 7; i++)
        acc += k[i] * s[clampi((ptrdiff_t)x + i - 3, w)];
    return acc;
}

/* Separable 7x7 Gaussian with replicated borders; @dst may equal @src. */
static void blur7(const float *src, float *dst, float *tmp, size_t w, size_t h, const float k[7])
{
    size_t lo = PHO_MIN((size_t)3, w), hi = PHO_MAX(lo, w > 3 ? w - 3 : 0);
    for (size_t y = 0; y < h; y++) {
        const float *s = src + y * w;
        float *t = tmp + y * w;
        for (size_t x = 0; x < lo; x++)
            t[x] = blur7_clamped(s, x, w, k);
        for (size_t x = lo; x < hi; x++)
            t[x] = k[0] * s[x - 3] + k[1] * s[x - 2] + k[2] * s[x - 1] + k[3] * s[x] +
                   k[4] * s[x + 1] + k[5] * s[x + 2] + k[6] * s[x + 3];
        for (size_t x = hi; x < w; x++)
            t[x] = blur7_clamped(s, x, w, k);
    }
    for (size_t y = 0; y < h; y++) {
        const float *r[7];
        for (int i = 0; i < 7; i++)
            r[i] = tmp + clampi((ptrdiff_t)y + i - 3, h) * w;
        float *d = dst + y * w;
        for (size_t x = 0; x < w; x++)
            d[x] = k[3] * r[3][x] + k[4] * (r[4][x] + r[2][x]) + k[5] * (r[5][x] + r[1][x]) +
                   k[6] * (r[6][x] + r[0][x]);
    }
}

/* Keys' cubic convolution weights (a = -0.75) for a sample at fraction t past
 * the second of four taps; the last weight closes the sum to 1. */
static void cubic_weights(float t, float c[4])
{
    const float a = -0.75f;
    float d0 = t + 1, d1 = t, d2 = 1 - t;
    c[0] = ((a * d0 - 5 * a) * d0 + 8 * a) * d0 - 4 * a;
    c[1] = ((a + 2) * d1 - (a + 3)) * d1 * d1 + 1;
    c[2] = ((a + 2) * d2 - (a + 3)) * d2 * d2 + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
}

/* Bicubic resize with pixel-centre alignment and clamped taps, no
 * antialiasing: what OpenCV's INTER_CUBIC does. @tmp holds dw x sh floats. */
static void resize_cubic(const float *src, size_t sw, size_t sh, float *dst, size_t dw, size_t dh,
                         float *tmp)
{
    double sx_scale = 1.0 / ((double)dw / (double)sw);
    double sy_scale = 1.0 / ((double)dh / (double)sh);
    for (size_t x = 0; x < dw; x++) {
        float f = (float)(((double)x + 0.5) * sx_scale - 0.5);
        float fl = floorf(f);
        ptrdiff_t sx = (ptrdiff_t)fl;
        float c[4];
        cubic_weights(f - fl, c);
        size_t i0 = clampi(sx - 1, sw), i1 = clampi(sx, sw), i2 = clampi(sx + 1, sw),
               i3 = clampi(sx + 2, sw);
        for (size_t y = 0; y < sh; y++) {
            const float *s = src + y * sw;
            tmp[y * dw + x] = s[i0] * c[0] + s[i1] * c[1] + s[i2] * c[2] + s[i3] * c[3];
        }
    }
    for (size_t y = 0; y < dh; y++) {
        float f = (float)(((double)y + 0.5) * sy_scale - 0.5);
        float fl = floorf(f);
        ptrdiff_t sy = (ptrdiff_t)fl;
        float c[4];
        cubic_weights(f - fl, c);
        const float *r0 = tmp + clampi(sy - 1, sh) * dw, *r1 = tmp + clampi(sy, sh) * dw,
                    *r2 = tmp + clampi(sy + 1, sh) * dw, *r3 = tmp + clampi(sy + 2, sh) * dw;
        float *d = dst + y * dw;
        for (size_t x = 0; x < dw; x++)
            d[x] = c[0] * r0[x] + c[1] * r1[x] + c[2] * r2[x] + c[3] * r3[x];
    }
}

/* Sums an asymmetric generalised Gaussian fit needs. Zeros count only in n. */
struct aggd_sums {
    double pos_sq, neg_sq, abs_sum;
    size_t pos, neg, n;
};

#define LANES 8

/* Adds @n values. Eight independent float lanes per row keep the loop
 * branch-free and vectorisable; rows are short enough for float partial sums. */
static void aggd_add(struct aggd_sums *s, const float *v, size_t n)
{
    float ps[LANES] = { 0 }, ns[LANES] = { 0 }, as[LANES] = { 0 };
    uint32_t pc[LANES] = { 0 }, nc[LANES] = { 0 };
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        for (int k = 0; k < LANES; k++) {
            float x = v[i + (size_t)k], sq = x * x;
            ps[k] += x > 0 ? sq : 0.f;
            ns[k] += x < 0 ? sq : 0.f;
            as[k] += fabsf(x);
            pc[k] += x > 0;
            nc[k] += x < 0;
        }
    }
    for (int k = 0; i < n; i++, k++) {
        float x = v[i], sq = x * x;
        ps[k] += x > 0 ? sq : 0.f;
        ns[k] += x < 0 ? sq : 0.f;
        as[k] += fabsf(x);
        pc[k] += x > 0;
        nc[k] += x < 0;
    }
    for (int k = 0; k < LANES; k++) {
        s->pos_sq += (double)ps[k];
        s->neg_sq += (double)ns[k];
        s->abs_sum += (double)as[k];
        s->pos += pc[k];
        s->neg += nc[k];
    }
}

struct aggd {
    double shape, left, right; /* left/right: standard deviations of each side */
};

/* Moment-matching fit; false when one side is empty (a flat image). */
static bool aggd_fit(const struct pho_brisque *m, const struct aggd_sums *s, struct aggd *out)
{
    if (!s->pos || !s->neg || !s->n)
        return false;
    double l = sqrt(s->neg_sq / (double)s->neg), r = sqrt(s->pos_sq / (double)s->pos);
    double g = l / r, n = (double)s->n;
    double mean_abs = s->abs_sum / n;
    double rhat = mean_abs * mean_abs / ((s->neg_sq + s->pos_sq) / n);
    double target = rhat * (g * g * g + 1) * (g + 1) / ((g * g + 1) * (g * g + 1));
    if (!isfinite(target) || !(l > 0) || !(r > 0))
        return false;
    /* First grid point after which the mismatch grows; the ratio rises with
     * the shape, so this is the closest one. */
    double prev_diff = 1e10, best = 0;
    for (size_t i = 0; i < m->grid_n; i++) {
        double diff = fabs(m->grid_ratio[i] - target);
        if (diff > prev_diff)
            break;
        prev_diff = diff;
        best = m->grid_shape[i];
    }
    out->shape = best;
    out->left = l;
    out->right = r;
    return true;
}

/*
 * The 18 features of one scale: shape and variance of the MSCN image, then
 * shape, mean, left and right variance of its products with the right,
 * lower, lower-right and upper-right neighbours. @img is overwritten.
 */
static bool scale_features(const struct pho_brisque *m, float *img, size_t w, size_t h, float *mu,
                           float *var, float *tmp, float *feat)
{
    float k[7];
    gauss_kernel(k);
    blur7(img, mu, tmp, w, h, k);
    for (size_t i = 0; i < w * h; i++)
        var[i] = img[i] * img[i];
    blur7(var, var, tmp, w, h, k);

    const float floor_sigma = (float)(1.0 / 255);
    struct aggd_sums mscn = { 0 };
    for (size_t i = 0; i < w * h; i++) {
        float v = var[i] - mu[i] * mu[i];
        /* Rounding can make a flat window's variance slightly negative;
         * OpenCV then gets NaN, which its sums and counts skip, as they skip 0. */
        img[i] = v >= 0 ? (img[i] - mu[i]) / (sqrtf(v) + floor_sigma) : 0.f;
    }
    aggd_add(&mscn, img, w * h);
    mscn.n = w * h;

    /* Neighbour products, one row at a time into @tmp. */
    static const int shifts[4][2] = { { 0, 1 }, { 1, 0 }, { 1, 1 }, { -1, 1 } };
    struct aggd_sums pair[4] = { { 0 } };
    for (int s = 0; s < 4; s++) {
        int dy = shifts[s][0], dx = shifts[s][1];
        size_t y0 = dy < 0 ? 1 : 0, y1 = dy > 0 ? h - 1 : h, x1 = w - (size_t)dx;
        for (size_t y = y0; y < y1; y++) {
            const float *a = img + y * w, *b = img + (size_t)((ptrdiff_t)y + dy) * w + dx;
            for (size_t x = 0; x < x1; x++)
                tmp[x] = a[x] * b[x];
            aggd_add(&pair[s], tmp, x1);
        }
        /* Products that fall off the image are zeros OpenCV still counts. */
        pair[s].n = w * h;
    }

    struct aggd f;
    if (!aggd_fit(m, &mscn, &f))
        return false;
    feat[0] = (float)f.shape;
    feat[1] = (float)((f.left * f.left + f.right * f.right) / 2);
    for (int s = 0; s < 4; s++) {
        if (!aggd_fit(m, &pair[s], &f))
            return false;
        double g = f.shape;
        double mean = (f.right - f.left) * (tgamma(2 / g) / tgamma(1 / g)) *
                      (sqrt(tgamma(1 / g)) / sqrt(tgamma(3 / g)));
        float *o = feat + 2 + 4 * s;
        o[0] = (float)g;
        o[1] = (float)mean;
        o[2] = (float)(f.left * f.left);
        o[3] = (float)(f.right * f.right);
    }
    return true;
}

/* RBF support-vector regression on features scaled to -1..1 as in training. */
static double predict(const struct pho_brisque *m, const float *feat)
{
    float x[PHO_BRISQUE_FEATURES];
    for (size_t i = 0; i < PHO_BRISQUE_FEATURES; i++)
        x[i] = -1.f + 2.f * (feat[i] - m->lo[i]) / (m->hi[i] - m->lo[i]);
    double sum = -m->rho;
    for (size_t j = 0; j < m->sv_count; j++) {
        const float *sv = m->sv + j * PHO_BRISQUE_FEATURES;
        double d2 = 0;
        for (size_t i = 0; i < PHO_BRISQUE_FEATURES; i++) {
            double t = (double)(sv[i] - x[i]); /* float difference, as OpenCV */
            d2 += t * t;
        }
        sum += (double)expf((float)(-m->gamma * d2)) * m->alpha[j];
    }
    /* OpenCV hands the prediction back as a float. */
    return (double)(float)sum;
}

int pho_quality__brisque_grey(double *out, const struct pho_brisque *m, const struct pho_grey *g,
                              struct pho_err *err)
{
    float *buf = NULL;
    float feat[PHO_BRISQUE_FEATURES];
    size_t w = g->w, h = g->h, n = w * h;
    *out = NAN;
    if (w < PHO_BRISQUE_MIN_SIDE || h < PHO_BRISQUE_MIN_SIDE)
        return pho_err_set(err, PHO_EINVAL, "brisque: %zux%zu is too small (needs %d px a side)", w,
                           h, PHO_BRISQUE_MIN_SIDE);
    size_t w2 = w / 2, h2 = h / 2;
    /* img, mean, variance and scratch at full size, then the half-size image. */
    buf = pho_reallocarray(NULL, 4 * n + w2 * h2, sizeof(float));
    if (!buf)
        return pho_err_set(err, PHO_ENOMEM, "brisque: out of memory for %zux%zu", w, h);
    float *img = buf, *mu = buf + n, *var = buf + 2 * n, *tmp = buf + 3 * n, *half = buf + 4 * n;

    const float to_unit = (float)(1.0 / 255);
    for (size_t i = 0; i < n; i++)
        img[i] = (float)g->px[i] * to_unit;
    /* The half scale comes from the grey image, before the MSCN pass overwrites it. */
    resize_cubic(img, w, h, half, w2, h2, tmp);
    if (scale_features(m, img, w, h, mu, var, tmp, feat) &&
        scale_features(m, half, w2, h2, mu, var, tmp, feat + PHO_BRISQUE_FEATURES / 2)) {
        double s = predict(m, feat);
        *out = s < 0 ? 0 : s > 100 ? 100 : s;
    } else {
        /* No texture to fit (flat or smoothly shaded): the worst score, as
         * OpenCV gives for such images. */
        *out = 100;
    }
    pho_free(buf);
    return 0;
}

int pho_brisque_score(double *out, const struct pho_brisque *model, const struct pho_image *img,
                      struct pho_err *err)
{
    struct pho_grey g = { 0 };
    if (!out || !model)
        return pho_err_set(err, PHO_EINVAL, "brisque: no model or output");
    *out = NAN;
    int rc = pho_quality__grey(&g, img, err);
    if (!rc)
        rc = pho_quality__brisque_grey(out, model, &g, err);
    pho_free(g.px);
    return rc;
}
