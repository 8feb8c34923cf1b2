/* SPDX-License-Identifier: MIT */
#include "face/detect.h"

void pho_face__tensor_to_image(const face_affine inv, float u, float v, float *x, float *y)
{
    u -= 0.5f;
    v -= 0.5f;
    *x = inv[0][0] * u + inv[0][1] * v + inv[0][2] + 0.5f;
    *y = inv[1][0] * u + inv[1][1] * v + inv[1][2] + 0.5f;
}

void pho_face__det_to_image(const face_affine inv, struct face_det *d)
{
    pho_face__tensor_to_image(inv, d->x0, d->y0, &d->x0, &d->y0);
    pho_face__tensor_to_image(inv, d->x1, d->y1, &d->x1, &d->y1);
    for (int k = 0; k < d->nkp; k++)
        pho_face__tensor_to_image(inv, d->kp[k][0], d->kp[k][1], &d->kp[k][0], &d->kp[k][1]);
}

size_t pho_face__dets_min_size(struct face_det *d, size_t n, float min_face, unsigned img_w,
                               unsigned img_h)
{
    float limit = min_face * (float)(img_w > img_h ? img_w : img_h);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        float w = d[i].x1 - d[i].x0, h = d[i].y1 - d[i].y0;
        if ((w > h ? w : h) >= limit)
            d[kept++] = d[i];
    }
    return kept;
}

void pho_face__det_fill(struct pho_face *f, const struct face_det *d, unsigned img_w,
                        unsigned img_h)
{
    float w = (float)img_w, h = (float)img_h;
    f->box[0] = pho_face__clamp01(d->x0 / w);
    f->box[1] = pho_face__clamp01(d->y0 / h);
    f->box[2] = pho_face__clamp01(d->x1 / w);
    f->box[3] = pho_face__clamp01(d->y1 / h);
    f->score = d->score;
    if (d->nkp >= 5) {
        for (int k = 0; k < 5; k++) {
            f->pts5[k][0] = d->kp[k][0] / w;
            f->pts5[k][1] = d->kp[k][1] / h;
        }
        f->has_pts5 = true;
    }
}

const char *pho_face__shape_str(const struct pho_tensor *t, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = 0;
    for (size_t d = 0; d < t->ndim && d < PHO_TENSOR_MAX_DIMS && at < size; d++) {
        int w = snprintf(buf + at, size - at, "%s%lld", d ? "," : "[", (long long)t->shape[d]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
    if (at < size)
        snprintf(buf + at, size - at, "%s", t->ndim ? "]" : "[]");
    return buf;
}

int pho_face__letterbox_input(float **out, const struct pho_image *img, int size,
                              const struct face_norm *norm, face_affine to_tensor,
                              face_affine to_image, struct pho_err *err)
{
    *out = NULL;
    float *in = pho_malloc(sizeof(float) * 3 * (size_t)size * (size_t)size);
    if (!in)
        return pho_err_set(err, PHO_ENOMEM, "face: out of memory");
    pho_face__letterbox(img, NULL, size, norm, in, to_tensor);
    if (!pho_face__affine_invert(to_tensor, to_image)) {
        pho_free(in);
        return pho_err_set(err, PHO_EINVAL, "face: image too small to letterbox");
    }
    *out = in;
    return 0;
}

size_t pho_face__dets_finish(struct face_det *d, size_t n, const face_affine to_image,
                             float min_face, const struct pho_image *img, float iou, size_t max)
{
    for (size_t i = 0; i < n; i++)
        pho_face__det_to_image(to_image, &d[i]);
    n = pho_face__dets_min_size(d, n, min_face, img->width, img->height);
    n = pho_face__nms(d, n, iou);
    return PHO_MIN(n, max);
}
