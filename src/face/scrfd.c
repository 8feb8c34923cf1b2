/* SPDX-License-Identifier: MIT */
#include "face/scrfd.h"

bool pho_face__scrfd_rows(const struct pho_tensor *t, size_t *rows, int64_t *width)
{
    if (t->ndim == 3 && t->shape[0] != 1)
        return false;
    if (t->ndim != 2 && t->ndim != 3)
        return false;
    int64_t r = t->shape[t->ndim - 2], w = t->shape[t->ndim - 1];
    if (r < 0 || w < 1)
        return false;
    *rows = (size_t)r;
    *width = w;
    return true;
}

bool pho_face__scrfd_bind(struct face_scrfd_level lv[FACE_SCRFD_LEVELS],
                          const struct pho_tensor *out, size_t nout, int in_w, int in_h,
                          size_t *bad)
{
    static const int strides[FACE_SCRFD_LEVELS] = { 8, 16, 32 };
    for (int i = 0; i < FACE_SCRFD_LEVELS; i++)
        lv[i] = (struct face_scrfd_level){ NULL, NULL, NULL, 0, strides[i], 0 };
    for (size_t o = 0; o < nout; o++) {
        size_t rows;
        int64_t width;
        *bad = o;
        if (!pho_face__scrfd_rows(&out[o], &rows, &width))
            return false;
        int level = -1, anchors = 0;
        for (int i = 0; i < FACE_SCRFD_LEVELS && level < 0; i++) {
            size_t cells = (size_t)(in_w / strides[i]) * (size_t)(in_h / strides[i]);
            for (int a = 1; a <= 2; a++) {
                if (rows == cells * (size_t)a) {
                    level = i;
                    anchors = a;
                }
            }
        }
        if (level < 0)
            return false;
        struct face_scrfd_level *l = &lv[level];
        if (l->anchors && (l->anchors != anchors || l->rows != rows))
            return false;
        const float **slot = width == 1    ? &l->score
                             : width == 4  ? &l->box
                             : width == 10 ? &l->kps
                                           : NULL;
        if (!slot || *slot)
            return false;
        *slot = out[o].data;
        l->rows = rows;
        l->anchors = anchors;
    }
    *bad = nout;
    for (int i = 0; i < FACE_SCRFD_LEVELS; i++)
        if (!lv[i].score || !lv[i].box || !lv[i].kps)
            return false;
    return true;
}

size_t pho_face__scrfd_decode(const struct face_scrfd_level *l, int in_w, float thresh,
                              struct face_det *dst, size_t cap)
{
    size_t n = 0, grid_w = (size_t)(in_w / l->stride);
    float s = (float)l->stride;
    for (size_t r = 0; r < l->rows; r++) {
        if (!(l->score[r] >= thresh))
            continue;
        if (n < cap) {
            size_t cell = r / (size_t)l->anchors;
            float cx = (float)(cell % grid_w) * s, cy = (float)(cell / grid_w) * s;
            const float *d = l->box + r * 4, *k = l->kps + r * 10;
            struct face_det *o = &dst[n];
            o->x0 = cx - d[0] * s;
            o->y0 = cy - d[1] * s;
            o->x1 = cx + d[2] * s;
            o->y1 = cy + d[3] * s;
            o->score = l->score[r];
            o->nkp = 5;
            for (int i = 0; i < 5; i++) {
                o->kp[i][0] = cx + k[2 * i] * s;
                o->kp[i][1] = cy + k[2 * i + 1] * s;
            }
            o->kp[5][0] = o->kp[5][1] = 0;
        }
        n++;
    }
    return n;
}

bool pho_face__lmk106_crop(const float box[4], struct face_lmk106_crop *c)
{
    float side = 1.5f * fmaxf(box[2] - box[0], box[3] - box[1]);
    if (!(side > 0))
        return false;
    c->cx = 0.5f * (box[0] + box[2]);
    c->cy = 0.5f * (box[1] + box[3]);
    c->scale = (float)FACE_LMK106_SIZE / side;
    return true;
}

void pho_face__lmk106_crop_affine(const struct face_lmk106_crop *c, face_affine m)
{
    float half = 0.5f * FACE_LMK106_SIZE;
    m[0][0] = c->scale;
    m[0][1] = 0;
    m[0][2] = c->scale * (0.5f - c->cx) + half - 0.5f;
    m[1][0] = 0;
    m[1][1] = c->scale;
    m[1][2] = c->scale * (0.5f - c->cy) + half - 0.5f;
}

void pho_face__lmk106_to_image(const struct face_lmk106_crop *c, float vx, float vy, float *x,
                               float *y)
{
    float half = 0.5f * FACE_LMK106_SIZE;
    *x = c->cx + vx * half / c->scale;
    *y = c->cy + vy * half / c->scale;
}

bool pho_face__lmk106_eyes(const float (*pts)[2], const float kp_l[2], const float kp_r[2],
                           float eye_l[6][2], float eye_r[6][2])
{
    static const int eye[2][6] = {
        { 35, 41, 42, 39, 37, 36 }, /* image-left eye (subject's right) */
        { 89, 95, 96, 93, 91, 90 }, /* image-right eye */
    };
    float centre[2][2] = { { 0, 0 }, { 0, 0 } };
    for (int e = 0; e < 2; e++) {
        for (int i = 0; i < 6; i++) {
            centre[e][0] += pts[eye[e][i]][0] / 6;
            centre[e][1] += pts[eye[e][i]][1] / 6;
        }
    }
    float ax = kp_r[0] - kp_l[0], ay = kp_r[1] - kp_l[1];
    float along0 = centre[0][0] * ax + centre[0][1] * ay;
    float along1 = centre[1][0] * ax + centre[1][1] * ay;
    bool swap = along0 > along1;
    for (int i = 0; i < 6; i++) {
        const float *l = pts[eye[swap][i]], *r = pts[eye[!swap][i]];
        eye_l[i][0] = l[0];
        eye_l[i][1] = l[1];
        eye_r[i][0] = r[0];
        eye_r[i][1] = r[1];
    }
    return swap;
}

void pho_face__eye_state(float ear_l, float ear_r, float thresh, int8_t *closed, int8_t *winking)
{
    if (isnan(ear_l) || isnan(ear_r)) {
        *closed = *winking = -1;
        return;
    }
    bool shut_l = ear_l < thresh, shut_r = ear_r < thresh;
    *closed = (int8_t)(shut_l || shut_r);
    *winking = (int8_t)(shut_l != shut_r);
}

float pho_face__yaw(const float outer_l[2], const float outer_r[2], const float nose[2])
{
    float ux = outer_r[0] - outer_l[0], uy = outer_r[1] - outer_l[1];
    float len2 = ux * ux + uy * uy;
    if (!(len2 > 1e-6f))
        return NAN;
    float t = ((nose[0] - outer_l[0]) * ux + (nose[1] - outer_l[1]) * uy) / len2;
    return fminf(1.0f, fmaxf(-1.0f, 2 * t - 1));
}
