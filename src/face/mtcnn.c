/* SPDX-License-Identifier: MIT */
/*
 * MTCNN: p-net over an image pyramid, r-net and o-net on batched square
 * crops; boxes with scores and 5 points.
 *
 * Pyramid rule (what bounds the p-net cost, the expensive part): the smallest
 * face looked for is m = max(20 px, opts.min_face x the image's long side);
 * the first level scales the image by s0 = 12 / m, never above 1 and never
 * to more than 1280 x 960 pixels (the size the nets were shipped for), so a
 * huge photo raises m instead of the cost; each further level is 0.709 times
 * the previous one, down to a short side of 12 pixels.
 *
 * Its NMS stays its own: the last pass compares by the smaller box's area
 * (intersection over minimum), which util.c's IoU NMS does not do.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/backend.h"
#include "face/mtcnn.h"
#include "face/util.h"

#define MTCNN_FACTOR       0.709f
#define MTCNN_MIN_FACE_PX  20.0f
#define MTCNN_MAX_PIXELS   (1280.0 * 960.0)
#define PNET_THRESHOLD     0.6f
#define RNET_THRESHOLD     0.7f
#define ONET_THRESHOLD     0.7f
#define PNET_NMS_SCALE     0.5f
#define PNET_NMS_ALL       0.7f
#define RNET_NMS           0.7f
#define ONET_NMS_MIN       0.7f
/* Keeps NMS (quadratic) and r-net bounded on textured photos where thousands
 * of windows pass 0.6; real faces score far above the candidates cut. */
#define PNET_MAX_PER_SCALE 2000
#define PNET_MAX_TOTAL     3000
/* Crops per r-net / o-net run: a few MB of input, and a dynamic batch. */
#define RNET_BATCH         256
#define ONET_BATCH         64

/* ---- resampling into MTCNN tensors ---- */

/* Pixels to resample: 8-bit RGB (the photo) or float RGB (a reduced copy). */
struct px_src {
    const uint8_t *u8;
    const float *f;
    int w, h;
    size_t stride; /* bytes (u8) or floats (f) between rows */
};

/* For each output sample along one axis, the source pixels and their weights. */
struct axis {
    int taps;
    int *first, *count;
    float *w; /* w[u * taps + t] weighs source pixel first[u] + t */
};

static void axis_free(struct axis *a)
{
    pho_free(a->first);
    pho_free(a->count);
    pho_free(a->w);
}

/*
 * Output sample u covers [r0 + u k, r0 + (u + 1) k) of a source axis of @len
 * pixels, k = (r1 - r0) / n. Shrinking averages the covered area (MTCNN was
 * trained on area-resampled crops; point sampling a 400 px face down to 24 px
 * would alias); enlarging interpolates linearly. Pixels outside the source
 * get no tap, which pads with black as MTCNN's own crops do.
 */
static int axis_build(struct axis *a, float r0, float r1, int n, int len)
{
    float k = (r1 - r0) / (float)n;
    a->taps = k >= 1 ? (int)ceilf(k) + 1 : 2;
    a->first = pho_malloc(sizeof(int) * (size_t)n);
    a->count = pho_malloc(sizeof(int) * (size_t)n);
    a->w = pho_malloc(sizeof(float) * (size_t)n * a->taps);
    if (!a->first || !a->count || !a->w)
        return PHO_ENOMEM;
    for (int u = 0; u < n; u++) {
        float *w = a->w + (size_t)u * a->taps;
        int i0, i1;
        float lo = 0, hi = 0, c = 0;
        if (k >= 1) {
            lo = r0 + u * k;
            hi = lo + k;
            i0 = (int)floorf(lo);
            i1 = PHO_MIN((int)ceilf(hi), i0 + a->taps);
        } else {
            c = r0 + (u + 0.5f) * k - 0.5f;
            i0 = (int)floorf(c);
            i1 = i0 + 2;
        }
        int j0 = PHO_MAX(i0, 0), j1 = PHO_MIN(i1, len);
        a->first[u] = j0;
        a->count[u] = PHO_MAX(j1 - j0, 0);
        for (int i = j0; i < j1; i++) {
            if (k >= 1)
                w[i - j0] = (PHO_MIN(hi, (float)(i + 1)) - PHO_MAX(lo, (float)i)) / k;
            else
                w[i - j0] = i == i0 ? 1 - (c - (float)i0) : c - (float)i0;
        }
    }
    return 0;
}

enum resample_out {
    OUT_RGB,   /* float RGB, row-major, 0..255 */
    OUT_MTCNN, /* transposed ([x][y][c]) and normalised (v - 127.5) / 128 */
};

/* One source row resampled along x into @dst (ow RGB triples). */
static void row_pass(const struct px_src *s, int y, const struct axis *ax, int ow, float *dst)
{
    for (int u = 0; u < ow; u++) {
        const float *w = ax->w + (size_t)u * ax->taps;
        float r = 0, g = 0, b = 0;
        if (s->u8) {
            const uint8_t *p = s->u8 + (size_t)y * s->stride + (size_t)ax->first[u] * 3;
            for (int t = 0; t < ax->count[u]; t++, p += 3) {
                r += w[t] * p[0];
                g += w[t] * p[1];
                b += w[t] * p[2];
            }
        } else {
            const float *p = s->f + (size_t)y * s->stride + (size_t)ax->first[u] * 3;
            for (int t = 0; t < ax->count[u]; t++, p += 3) {
                r += w[t] * p[0];
                g += w[t] * p[1];
                b += w[t] * p[2];
            }
        }
        dst[u * 3] = r;
        dst[u * 3 + 1] = g;
        dst[u * 3 + 2] = b;
    }
}

/* Resamples the rectangle rect (x0, y0, x1, y1, source pixels) of @s into ow x oh at @dst. */
static int resample(const struct px_src *s, const float rect[4], int ow, int oh,
                    enum resample_out kind, float *dst)
{
    struct axis ax = { 0 }, ay = { 0 };
    float *tmp = NULL, *acc = NULL;
    int rc = axis_build(&ax, rect[0], rect[2], ow, s->w);
    if (rc == 0)
        rc = axis_build(&ay, rect[1], rect[3], oh, s->h);
    if (rc)
        goto done;
    /* Source rows the output reads: each is resampled along x once. */
    int ylo = s->h, yhi = 0;
    for (int v = 0; v < oh; v++) {
        if (ay.count[v]) {
            ylo = PHO_MIN(ylo, ay.first[v]);
            yhi = PHO_MAX(yhi, ay.first[v] + ay.count[v]);
        }
    }
    size_t row = (size_t)ow * 3;
    tmp = pho_malloc(sizeof(float) * row * (size_t)PHO_MAX(yhi - ylo, 1));
    acc = pho_malloc(sizeof(float) * row);
    if (!tmp || !acc) {
        rc = PHO_ENOMEM;
        goto done;
    }
    for (int y = ylo; y < yhi; y++)
        row_pass(s, y, &ax, ow, tmp + (size_t)(y - ylo) * row);
    for (int v = 0; v < oh; v++) {
        const float *w = ay.w + (size_t)v * ay.taps;
        memset(acc, 0, sizeof(float) * row);
        for (int t = 0; t < ay.count[v]; t++) {
            const float *src = tmp + (size_t)(ay.first[v] + t - ylo) * row;
            for (size_t i = 0; i < row; i++)
                acc[i] += w[t] * src[i];
        }
        if (kind == OUT_RGB) {
            memcpy(dst + (size_t)v * row, acc, sizeof(float) * row);
            continue;
        }
        for (int u = 0; u < ow; u++) {
            float *o = dst + ((size_t)u * oh + v) * 3;
            o[0] = (acc[u * 3] - 127.5f) * 0.0078125f;
            o[1] = (acc[u * 3 + 1] - 127.5f) * 0.0078125f;
            o[2] = (acc[u * 3 + 2] - 127.5f) * 0.0078125f;
        }
    }
done:
    pho_free(tmp);
    pho_free(acc);
    axis_free(&ax);
    axis_free(&ay);
    return rc;
}

/* ---- candidate boxes ---- */

static struct face_mtcnn_cand *cands_push(struct face_mtcnn_cands *c)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        void *p = pho_reallocarray(c->v, cap, sizeof(*c->v));
        if (!p)
            return NULL;
        c->v = p;
        c->cap = cap;
    }
    struct face_mtcnn_cand *r = &c->v[c->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

/* Higher score first; ties by position so the order never depends on qsort. */
static int by_score(const void *pa, const void *pb)
{
    const struct face_mtcnn_cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->y0 != b->y0)
        return a->y0 < b->y0 ? -1 : 1;
    if (a->x0 != b->x0)
        return a->x0 < b->x0 ? -1 : 1;
    return (a->x1 > b->x1) - (a->x1 < b->x1);
}

static float overlap(const struct face_mtcnn_cand *a, const struct face_mtcnn_cand *b,
                     bool min_area)
{
    float ix = PHO_MIN(a->x1, b->x1) - PHO_MAX(a->x0, b->x0);
    float iy = PHO_MIN(a->y1, b->y1) - PHO_MAX(a->y0, b->y0);
    if (ix <= 0 || iy <= 0)
        return 0;
    float inter = ix * iy;
    float aa = (a->x1 - a->x0) * (a->y1 - a->y0), ab = (b->x1 - b->x0) * (b->y1 - b->y0);
    float den = min_area ? PHO_MIN(aa, ab) : aa + ab - inter;
    return den > 0 ? inter / den : 0;
}

/* Greedy NMS over c->v[from..n), in place. The "min" overlap (intersection
 * over the smaller box) is MTCNN's last step: it drops a box nested in a
 * better one, which union overlap would keep. */
static void nms(struct face_mtcnn_cands *c, size_t from, float thr, bool min_area)
{
    struct face_mtcnn_cand *v = c->v + from;
    size_t n = c->n - from, kept = 0;
    if (n == 0)
        return;
    qsort(v, n, sizeof(*v), by_score);
    for (size_t i = 0; i < n; i++) {
        bool keep = true;
        for (size_t k = 0; k < kept && keep; k++)
            keep = overlap(&v[i], &v[k], min_area) <= thr;
        if (keep)
            v[kept++] = v[i];
    }
    c->n = from + kept;
}

/* Keeps the @max best of c->v[from..n) (MTCNN's candidates are many on textured photos). */
static void keep_best(struct face_mtcnn_cands *c, size_t from, size_t max)
{
    if (c->n - from <= max)
        return;
    qsort(c->v + from, c->n - from, sizeof(*c->v), by_score);
    c->n = from + max;
}

static void calibrate(struct face_mtcnn_cand *b)
{
    float w = b->x1 - b->x0, h = b->y1 - b->y0;
    b->x0 += b->reg[0] * w;
    b->y0 += b->reg[1] * h;
    b->x1 += b->reg[2] * w;
    b->y1 += b->reg[3] * h;
}

static void make_square(struct face_mtcnn_cand *b)
{
    float w = b->x1 - b->x0, h = b->y1 - b->y0, side = PHO_MAX(w, h);
    float cx = b->x0 + w / 2, cy = b->y0 + h / 2;
    b->x0 = cx - side / 2;
    b->y0 = cy - side / 2;
    b->x1 = b->x0 + side;
    b->y1 = b->y0 + side;
}

/* At least a pixel across, and finite and within reach: a wild regression must not become
 * an enormous crop. */
static bool usable(const struct face_mtcnn_cand *b)
{
    const float lim = 1e6f;
    return b->x1 - b->x0 >= 1 && b->y1 - b->y0 >= 1 && fabsf(b->x0) < lim && fabsf(b->y0) < lim &&
           fabsf(b->x1) < lim && fabsf(b->y1) < lim;
}

/* Checks an output is [n, d1, ..., last] as expected (dims < 0: any). */
static bool shape_is(const struct pho_tensor *t, size_t ndim, const int64_t *dims)
{
    if (t->ndim != ndim)
        return false;
    for (size_t i = 0; i < ndim; i++)
        if (dims[i] >= 0 && t->shape[i] != dims[i])
            return false;
    return true;
}

/*
 * The photo and its successive halvings. A crop is cut from the smallest
 * level where it still spans the net's input size, so shrinking a 900 px
 * face to 24 px reads about 48 x 48 pixels instead of 900 x 900.
 */
struct mip {
    int n;
    struct px_src lv[16];
    float sx[16], sy[16]; /* level pixels per image pixel */
};

static void mip_free(struct mip *mp)
{
    for (int i = 1; i < mp->n; i++)
        pho_free((void *)mp->lv[i].f);
    mp->n = 0;
}

static int mip_build(struct mip *mp, const struct pho_image *img)
{
    mp->lv[0] =
            (struct px_src){ img->pixels, NULL, (int)img->width, (int)img->height, img->stride };
    mp->sx[0] = mp->sy[0] = 1;
    mp->n = 1;
    while (mp->n < (int)PHO_ARRAY_LEN(mp->lv)) {
        const struct px_src *up = &mp->lv[mp->n - 1];
        int w = (up->w + 1) / 2, h = (up->h + 1) / 2;
        if (PHO_MIN(w, h) < 12)
            break;
        float *buf = pho_malloc(sizeof(float) * 3 * (size_t)w * h);
        if (!buf)
            return PHO_ENOMEM;
        float all[4] = { 0, 0, (float)up->w, (float)up->h };
        if (resample(up, all, w, h, OUT_RGB, buf)) {
            pho_free(buf);
            return PHO_ENOMEM;
        }
        mp->lv[mp->n] = (struct px_src){ NULL, buf, w, h, (size_t)w * 3 };
        mp->sx[mp->n] = (float)w / img->width;
        mp->sy[mp->n] = (float)h / img->height;
        mp->n++;
    }
    return 0;
}

static int mip_crop(const struct mip *mp, const struct face_mtcnn_cand *b, int size, float *dst)
{
    float side = PHO_MIN(b->x1 - b->x0, b->y1 - b->y0);
    int k = 0;
    while (k + 1 < mp->n && side * PHO_MIN(mp->sx[k + 1], mp->sy[k + 1]) >= (float)size)
        k++;
    float rect[4] = { b->x0 * mp->sx[k], b->y0 * mp->sy[k], b->x1 * mp->sx[k], b->y1 * mp->sy[k] };
    return resample(&mp->lv[k], rect, size, size, OUT_MTCNN, dst);
}

/* ---- stage 1: p-net over the pyramid ---- */

/* The first pyramid scale (see the rule at the top of the file). */
static float pyramid_start(const struct face_mtcnn *fn, uint32_t w, uint32_t h)
{
    float frac = fn->ctx->opts.min_face;
    if (!(frac > 0))
        frac = 0.02f;
    if (frac > 1)
        frac = 1;
    float m = PHO_MAX(MTCNN_MIN_FACE_PX, frac * (float)PHO_MAX(w, h));
    double s = 12.0 / m;
    double cap = sqrt(MTCNN_MAX_PIXELS / ((double)w * h));
    return (float)PHO_MIN(PHO_MIN(s, cap), 1.0);
}

/* One pyramid level of lw x lh; @buf has room for its input tensor. */
static int pnet_level(struct face_mtcnn *fn, const struct px_src *base, int lw, int lh, float sx,
                      float sy, float *buf, struct face_mtcnn_cands *out, struct pho_err *err)
{
    struct pho_tensor in = { buf, { 1, lw, lh, 3 }, 4, false }, res[2] = { 0 };
    int rc;
    float rect[4] = { 0, 0, (float)base->w, (float)base->h };
    rc = resample(base, rect, lw, lh, OUT_MTCNN, in.data);
    if (rc) {
        rc = pho_err_set(err, rc, "face: out of memory");
        goto done;
    }
    rc = pho_model_run(fn->pnet, &in, 1, res, 2, err);
    if (rc)
        goto done;
    int64_t ow = res[0].ndim == 4 ? res[0].shape[1] : -1,
            oh = res[0].ndim == 4 ? res[0].shape[2] : -1;
    int64_t want0[4] = { 1, ow, oh, 2 }, want1[4] = { 1, ow, oh, 4 };
    if (ow <= 0 || oh <= 0 || !shape_is(&res[0], 4, want0) || !shape_is(&res[1], 4, want1)) {
        rc = pho_err_set(err, PHO_EMODEL, "face: mtcnn p-net gave outputs of unexpected shape");
        goto done;
    }
    size_t from = out->n;
    for (int64_t i = 0; i < ow; i++) {
        for (int64_t j = 0; j < oh; j++) {
            size_t cell = (size_t)(i * oh + j);
            float p = res[0].data[cell * 2 + 1];
            if (!(p >= PNET_THRESHOLD))
                continue;
            struct face_mtcnn_cand *b = cands_push(out);
            if (!b) {
                rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
                goto done;
            }
            /* The 12 x 12 window at (2i, 2j) of this level, in image pixels. */
            b->x0 = (float)(2 * i) / sx;
            b->y0 = (float)(2 * j) / sy;
            b->x1 = (float)(2 * i + 12) / sx;
            b->y1 = (float)(2 * j + 12) / sy;
            b->score = p;
            memcpy(b->reg, res[1].data + cell * 4, sizeof(b->reg));
        }
    }
    keep_best(out, from, PNET_MAX_PER_SCALE);
    nms(out, from, PNET_NMS_SCALE, false);
done:
    pho_tensor_release(&res[0]);
    pho_tensor_release(&res[1]);
    return rc;
}

static int stage_pnet(struct face_mtcnn *fn, const struct pho_image *img, const struct mip *mp,
                      struct face_mtcnn_cands *out, struct pho_err *err)
{
    float s0 = pyramid_start(fn, img->width, img->height);
    int w0 = (int)lroundf((float)img->width * s0), h0 = (int)lroundf((float)img->height * s0);
    if (PHO_MIN(w0, h0) < 12)
        return 0;
    /* Every level is resampled from one base at the first scale, itself made
     * from the smallest halving that is still larger: the photo is read once. */
    float *base = pho_malloc(sizeof(float) * 3 * (size_t)w0 * h0);
    float *buf = pho_malloc(sizeof(float) * 3 * (size_t)w0 * h0);
    int rc = 0;
    if (!base || !buf) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto done;
    }
    int k = 0;
    while (k + 1 < mp->n && mp->lv[k + 1].w >= w0 && mp->lv[k + 1].h >= h0)
        k++;
    float all[4] = { 0, 0, (float)mp->lv[k].w, (float)mp->lv[k].h };
    rc = resample(&mp->lv[k], all, w0, h0, OUT_RGB, base);
    if (rc) {
        rc = pho_err_set(err, rc, "face: out of memory");
        goto done;
    }
    struct px_src bsrc = { NULL, base, w0, h0, (size_t)w0 * 3 };
    float f = 1;
    for (;;) {
        int lw = (int)lroundf(w0 * f), lh = (int)lroundf(h0 * f);
        if (PHO_MIN(lw, lh) < 12)
            break;
        rc = pnet_level(fn, &bsrc, lw, lh, (float)lw / img->width, (float)lh / img->height, buf,
                        out, err);
        if (rc)
            goto done;
        f *= MTCNN_FACTOR;
    }
    keep_best(out, 0, PNET_MAX_TOTAL);
    nms(out, 0, PNET_NMS_ALL, false);
    size_t kept = 0;
    for (size_t i = 0; i < out->n; i++) {
        calibrate(&out->v[i]);
        make_square(&out->v[i]);
        if (usable(&out->v[i]))
            out->v[kept++] = out->v[i];
    }
    out->n = kept;
done:
    pho_free(base);
    pho_free(buf);
    return rc;
}

/* ---- stages 2 and 3: r-net and o-net on square crops ---- */

/*
 * Runs r-net (size 24) or o-net (48) on every candidate of @in, in batches;
 * keeps those scoring at least @thr in @out with their regression and, for
 * o-net, the 5 points (image pixels).
 */
static int refine(struct face_mtcnn *fn, const struct mip *mp, const struct face_mtcnn_cands *in,
                  bool onet, struct face_mtcnn_cands *out, struct pho_err *err)
{
    int size = onet ? 48 : 24;
    size_t batch = onet ? ONET_BATCH : RNET_BATCH;
    struct pho_model *m = onet ? fn->onet : fn->rnet;
    float thr = onet ? ONET_THRESHOLD : RNET_THRESHOLD;
    size_t per = (size_t)size * size * 3;
    float *data = pho_malloc(sizeof(float) * per * PHO_MIN(batch, PHO_MAX(in->n, 1)));
    if (!data)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    int rc = 0;
    for (size_t at = 0; at < in->n && rc == 0; at += batch) {
        size_t n = PHO_MIN(batch, in->n - at);
        struct pho_tensor t = { data, { (int64_t)n, size, size, 3 }, 4, false }, res[3] = { 0 };
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = mip_crop(mp, &in->v[at + i], size, data + i * per);
        }
        if (rc) {
            rc = pho_err_set(err, rc, "face: out of memory");
            break;
        }
        size_t nres = onet ? 3 : 2;
        rc = pho_model_run(m, &t, 1, res, nres, err);
        int64_t w0[2] = { (int64_t)n, 2 }, w1[2] = { (int64_t)n, 4 }, w2[2] = { (int64_t)n, 10 };
        if (rc == 0 && (!shape_is(&res[0], 2, w0) || !shape_is(&res[1], 2, w1) ||
                        (onet && !shape_is(&res[2], 2, w2))))
            rc = pho_err_set(err, PHO_EMODEL, "face: mtcnn %s gave outputs of unexpected shape",
                             onet ? "o-net" : "r-net");
        for (size_t i = 0; i < n && rc == 0; i++) {
            float p = res[0].data[i * 2 + 1];
            if (!(p >= thr))
                continue;
            struct face_mtcnn_cand *b = cands_push(out);
            if (!b) {
                rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
                break;
            }
            *b = in->v[at + i];
            b->score = p;
            memcpy(b->reg, res[1].data + i * 4, sizeof(b->reg));
            if (onet) {
                const float *lm = res[2].data + i * 10;
                float w = b->x1 - b->x0, h = b->y1 - b->y0;
                for (int k = 0; k < 5; k++) {
                    b->pts[k][0] = b->x0 + lm[k] * w;
                    b->pts[k][1] = b->y0 + lm[5 + k] * h;
                }
            }
        }
        for (size_t k = 0; k < nres; k++)
            pho_tensor_release(&res[k]);
    }
    pho_free(data);
    return rc;
}

int pho_face__mtcnn_detect(struct face_mtcnn *fn, const struct pho_image *img,
                           struct face_mtcnn_cands *faces, struct pho_err *err)
{
    struct face_mtcnn_cands p = { 0 }, r = { 0 };
    struct mip mp = { 0 };
    int rc = mip_build(&mp, img);
    if (rc) {
        rc = pho_err_set(err, PHO_ENOMEM, "face: out of memory");
        goto done;
    }
    rc = stage_pnet(fn, img, &mp, &p, err);
    if (rc || p.n == 0)
        goto done;
    rc = refine(fn, &mp, &p, false, &r, err);
    if (rc || r.n == 0)
        goto done;
    nms(&r, 0, RNET_NMS, false);
    size_t k = 0;
    for (size_t i = 0; i < r.n; i++) {
        calibrate(&r.v[i]);
        make_square(&r.v[i]);
        if (usable(&r.v[i]))
            r.v[k++] = r.v[i];
    }
    r.n = k;
    rc = refine(fn, &mp, &r, true, faces, err);
    if (rc)
        goto done;
    k = 0;
    for (size_t i = 0; i < faces->n; i++) {
        calibrate(&faces->v[i]);
        if (usable(&faces->v[i]))
            faces->v[k++] = faces->v[i];
    }
    faces->n = k;
    nms(faces, 0, ONET_NMS_MIN, true);
done:
    mip_free(&mp);
    pho_free(p.v);
    pho_free(r.v);
    return rc;
}

int pho_face__mtcnn_open(struct face_mtcnn *m, struct face_ctx *ctx, struct pho_err *err)
{
    m->ctx = ctx;
    int rc = pho_face__open_model(&m->pnet, ctx, "mtcnn_pnet", err);
    if (rc == 0)
        rc = pho_face__open_model(&m->rnet, ctx, "mtcnn_rnet", err);
    if (rc == 0)
        rc = pho_face__open_model(&m->onet, ctx, "mtcnn_onet", err);
    return rc;
}

void pho_face__mtcnn_close(struct face_mtcnn *m)
{
    pho_model_close(m->onet);
    pho_model_close(m->rnet);
    pho_model_close(m->pnet);
}
