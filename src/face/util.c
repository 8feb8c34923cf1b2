/* SPDX-License-Identifier: MIT */
/*
 * Geometry and pixel helpers shared by the face backends: similarity
 * alignment, affine warps into model tensors, letterboxing, NMS (plain and
 * MediaPipe's weighted blend), eye aspect ratio, and the sharpness of a face.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face/stages.h"
#include "face/util.h"

const float pho_face__arcface_112[5][2] = {
    { 38.2946f, 51.6963f }, { 73.5318f, 51.5014f }, { 56.0252f, 71.7366f },
    { 41.5493f, 92.3655f }, { 70.7299f, 92.2041f },
};

bool pho_face__similarity(const float (*src)[2], const float (*dst)[2], size_t n, face_affine out)
{
    double msx = 0, msy = 0, mdx = 0, mdy = 0;
    for (size_t i = 0; i < n; i++) {
        msx += src[i][0];
        msy += src[i][1];
        mdx += dst[i][0];
        mdy += dst[i][1];
    }
    msx /= (double)n;
    msy /= (double)n;
    mdx /= (double)n;
    mdy /= (double)n;
    /* Least squares for x' = a x - b y + tx, y' = b x + a y + ty: the closed
     * form of Umeyama's estimate restricted to proper rotations. */
    double num_a = 0, num_b = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double sx = src[i][0] - msx, sy = src[i][1] - msy;
        double dx = dst[i][0] - mdx, dy = dst[i][1] - mdy;
        num_a += sx * dx + sy * dy;
        num_b += sx * dy - sy * dx;
        den += sx * sx + sy * sy;
    }
    if (!(den > 1e-12))
        return false;
    double a = num_a / den, b = num_b / den;
    out[0][0] = (float)a;
    out[0][1] = (float)-b;
    out[0][2] = (float)(mdx - (a * msx - b * msy));
    out[1][0] = (float)b;
    out[1][1] = (float)a;
    out[1][2] = (float)(mdy - (b * msx + a * msy));
    return true;
}

bool pho_face__align5(const struct pho_face *f, float w, float h, const float (*tmpl)[2],
                      face_affine out)
{
    float src[5][2];
    for (int k = 0; k < 5; k++) {
        src[k][0] = f->pts5[k][0] * w - 0.5f;
        src[k][1] = f->pts5[k][1] * h - 0.5f;
    }
    return pho_face__similarity((const float(*)[2])src, tmpl, 5, out);
}

bool pho_face__affine_invert(const face_affine m, face_affine out)
{
    double det = (double)m[0][0] * m[1][1] - (double)m[0][1] * m[1][0];
    if (fabs(det) < 1e-12)
        return false;
    double i00 = m[1][1] / det, i01 = -m[0][1] / det, i10 = -m[1][0] / det, i11 = m[0][0] / det;
    out[0][0] = (float)i00;
    out[0][1] = (float)i01;
    out[1][0] = (float)i10;
    out[1][1] = (float)i11;
    out[0][2] = (float)-(i00 * m[0][2] + i01 * m[1][2]);
    out[1][2] = (float)-(i10 * m[0][2] + i11 * m[1][2]);
    return true;
}

void pho_face__affine_apply(const face_affine m, float x, float y, float *ox, float *oy)
{
    *ox = m[0][0] * x + m[0][1] * y + m[0][2];
    *oy = m[1][0] * x + m[1][1] * y + m[1][2];
}

/* Bilinear sample of one pixel (pixel centres at integer coordinates); zero outside. */
static void sample(const struct pho_image *img, float x, float y, float rgb[3])
{
    int x0 = (int)floorf(x), y0 = (int)floorf(y);
    float fx = x - (float)x0, fy = y - (float)y0;
    float acc[3] = { 0, 0, 0 };
    for (int dy = 0; dy < 2; dy++) {
        int yy = y0 + dy;
        if (yy < 0 || yy >= (int)img->height)
            continue;
        float wy = dy ? fy : 1 - fy;
        const uint8_t *row = img->pixels + (size_t)yy * img->stride;
        for (int dx = 0; dx < 2; dx++) {
            int xx = x0 + dx;
            if (xx < 0 || xx >= (int)img->width)
                continue;
            float w = wy * (dx ? fx : 1 - fx);
            const uint8_t *p = row + (size_t)xx * 3;
            acc[0] += w * p[0];
            acc[1] += w * p[1];
            acc[2] += w * p[2];
        }
    }
    rgb[0] = acc[0];
    rgb[1] = acc[1];
    rgb[2] = acc[2];
}

void pho_face__warp(const struct pho_image *img, const face_affine m, int out_w, int out_h,
                    const struct face_norm *norm, float *dst)
{
    face_affine inv;
    if (!pho_face__affine_invert(m, inv)) {
        size_t n = (size_t)out_w * out_h * (norm->grey ? 1 : 3);
        for (size_t i = 0; i < n; i++)
            dst[i] = (0 - norm->mean[0]) * norm->scale[0];
        return;
    }
    size_t plane = (size_t)out_w * out_h;
    for (int v = 0; v < out_h; v++) {
        for (int u = 0; u < out_w; u++) {
            float x, y, rgb[3];
            pho_face__affine_apply(inv, (float)u, (float)v, &x, &y);
            sample(img, x, y, rgb);
            size_t i = (size_t)v * out_w + u;
            if (norm->grey) {
                float g = 0.2989f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
                dst[i] = (g - norm->mean[0]) * norm->scale[0];
                continue;
            }
            for (int c = 0; c < 3; c++) {
                int src_c = norm->bgr ? 2 - c : c;
                float val = (rgb[src_c] - norm->mean[c]) * norm->scale[c];
                if (norm->nchw)
                    dst[(size_t)c * plane + i] = val;
                else
                    dst[i * 3 + c] = val;
            }
        }
    }
}

void pho_face__letterbox(const struct pho_image *img, const float *roi, int size,
                         const struct face_norm *norm, float *dst, face_affine img_to_tensor)
{
    float x0 = roi ? roi[0] : 0, y0 = roi ? roi[1] : 0;
    float w = roi ? roi[2] - roi[0] : (float)img->width,
          h = roi ? roi[3] - roi[1] : (float)img->height;
    float s = (float)size / PHO_MAX(w, h);
    float ox = (size - w * s) / 2, oy = (size - h * s) / 2;
    /* Pixel centres: image pixel i covers [i, i+1); map centres onto centres. */
    img_to_tensor[0][0] = s;
    img_to_tensor[0][1] = 0;
    img_to_tensor[0][2] = ox - x0 * s + (s - 1) / 2;
    img_to_tensor[1][0] = 0;
    img_to_tensor[1][1] = s;
    img_to_tensor[1][2] = oy - y0 * s + (s - 1) / 2;
    pho_face__warp(img, img_to_tensor, size, size, norm, dst);
}

float pho_face__iou(const struct face_det *a, const struct face_det *b)
{
    float ix = PHO_MIN(a->x1, b->x1) - PHO_MAX(a->x0, b->x0);
    float iy = PHO_MIN(a->y1, b->y1) - PHO_MAX(a->y0, b->y0);
    if (ix <= 0 || iy <= 0)
        return 0;
    float inter = ix * iy;
    float ua = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
    return ua > 0 ? inter / ua : 0;
}

int pho_face__det_by_score(const void *pa, const void *pb)
{
    const struct face_det *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->y0 != b->y0)
        return a->y0 < b->y0 ? -1 : 1;
    return a->x0 < b->x0 ? -1 : a->x0 > b->x0;
}

size_t pho_face__nms(struct face_det *dets, size_t n, float iou)
{
    if (n == 0)
        return 0;
    qsort(dets, n, sizeof(*dets), pho_face__det_by_score);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool keep = true;
        for (size_t k = 0; k < kept && keep; k++)
            keep = pho_face__iou(&dets[i], &dets[k]) <= iou;
        if (keep)
            dets[kept++] = dets[i];
    }
    return kept;
}

size_t pho_face__nms_weighted(struct face_det *dets, size_t n, float iou)
{
    if (n == 0)
        return 0;
    qsort(dets, n, sizeof(*dets), pho_face__det_by_score);
    bool *used = pho_calloc(n, sizeof(*used));
    struct face_det *out = pho_calloc(n, sizeof(*out));
    if (!used || !out) {
        pho_free(used);
        pho_free(out);
        return pho_face__nms(dets, n, iou);
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (used[i])
            continue;
        struct face_det acc = { 0 };
        float wsum = 0;
        for (size_t j = i; j < n; j++) {
            if (used[j] || (j != i && pho_face__iou(&dets[i], &dets[j]) <= iou))
                continue;
            used[j] = true;
            float w = dets[j].score;
            wsum += w;
            acc.x0 += w * dets[j].x0;
            acc.y0 += w * dets[j].y0;
            acc.x1 += w * dets[j].x1;
            acc.y1 += w * dets[j].y1;
            for (int k = 0; k < dets[i].nkp && k < dets[j].nkp; k++) {
                acc.kp[k][0] += w * dets[j].kp[k][0];
                acc.kp[k][1] += w * dets[j].kp[k][1];
            }
        }
        struct face_det *o = &out[kept++];
        *o = dets[i];
        if (wsum > 0) {
            o->x0 = acc.x0 / wsum;
            o->y0 = acc.y0 / wsum;
            o->x1 = acc.x1 / wsum;
            o->y1 = acc.y1 / wsum;
            for (int k = 0; k < o->nkp; k++) {
                o->kp[k][0] = acc.kp[k][0] / wsum;
                o->kp[k][1] = acc.kp[k][1] / wsum;
            }
        }
    }
    memcpy(dets, out, kept * sizeof(*dets));
    pho_free(used);
    pho_free(out);
    return kept;
}

static float dist(const float a[2], const float b[2])
{
    return hypotf(a[0] - b[0], a[1] - b[1]);
}

float pho_face__ear(const float p[6][2])
{
    float w = dist(p[0], p[3]);
    if (!(w > 1e-6f))
        return NAN;
    return (dist(p[1], p[5]) + dist(p[2], p[4])) / (2 * w);
}

float pho_face__crop_sharpness(const struct pho_image *img, const float box[4])
{
    enum { N = 96 };
    float w = box[2] - box[0], h = box[3] - box[1];
    if (!(w > 1 && h > 1))
        return NAN;
    float *g = pho_malloc(sizeof(float) * N * N);
    if (!g)
        return NAN;
    face_affine m = { { N / w, 0, -box[0] * N / w }, { 0, N / h, -box[1] * N / h } };
    struct face_norm norm = { { 0, 0, 0 }, { 1, 1, 1 }, false, false, true };
    pho_face__warp(img, m, N, N, &norm, g);
    double sum = 0, sq = 0;
    for (int y = 1; y < N - 1; y++) {
        for (int x = 1; x < N - 1; x++) {
            const float *c = g + y * N + x;
            double lap = c[-1] + c[1] + c[-N] + c[N] - 4.0 * c[0];
            sum += lap;
            sq += lap * lap;
        }
    }
    pho_free(g);
    double cnt = (N - 2) * (N - 2);
    double mean = sum / cnt;
    return (float)(sq / cnt - mean * mean);
}

void pho_face__fill_sharpness(struct pho_face *f, const struct pho_image *img)
{
    if (!isnan(f->sharpness))
        return;
    float px[4] = { f->box[0] * (float)img->width, f->box[1] * (float)img->height,
                    f->box[2] * (float)img->width, f->box[3] * (float)img->height };
    f->sharpness = pho_face__crop_sharpness(img, px);
}

int pho_face__jobs_flatten(struct face_ref **out, size_t *n, const struct face_job *jobs,
                           size_t njobs, struct pho_err *err)
{
    size_t total = 0;
    *out = NULL;
    *n = 0;
    for (size_t j = 0; j < njobs; j++)
        if (jobs[j].first < jobs[j].faces->count)
            total += jobs[j].faces->count - jobs[j].first;
    if (total == 0)
        return 0;
    struct face_ref *r = pho_malloc(sizeof(*r) * total);
    if (!r)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    size_t i = 0;
    for (size_t j = 0; j < njobs; j++)
        for (size_t k = jobs[j].first; k < jobs[j].faces->count; k++)
            r[i++] = (struct face_ref){ j, k };
    *out = r;
    *n = total;
    return 0;
}
