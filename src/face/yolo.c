/* SPDX-License-Identifier: MIT */
#include "face/yolo.h"

size_t pho_face__yolo_anchors(const struct pho_tensor *t)
{
    if (t->ndim != 3 || t->shape[0] != 1 || t->shape[1] != FACE_YOLO_ROWS || t->shape[2] < 1)
        return 0;
    return (size_t)t->shape[2];
}

size_t pho_face__yolo_decode(const float *out, size_t n, float thresh, struct face_det *dst,
                             size_t cap)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        float score = out[4 * n + i];
        if (!(score >= thresh))
            continue;
        if (kept < cap) {
            float cx = out[i], cy = out[n + i], hw = 0.5f * out[2 * n + i],
                  hh = 0.5f * out[3 * n + i];
            struct face_det *o = &dst[kept];
            o->x0 = cx - hw;
            o->y0 = cy - hh;
            o->x1 = cx + hw;
            o->y1 = cy + hh;
            o->score = score;
            o->nkp = FACE_YOLO_KPS;
            for (int k = 0; k < FACE_YOLO_KPS; k++) {
                o->kp[k][0] = out[(size_t)(5 + 3 * k) * n + i];
                o->kp[k][1] = out[(size_t)(6 + 3 * k) * n + i];
            }
            o->kp[5][0] = o->kp[5][1] = 0;
        }
        kept++;
    }
    return kept;
}
