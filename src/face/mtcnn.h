/* SPDX-License-Identifier: MIT */
/* Private to src/face: the MTCNN detector (mtcnn.c), used by the facenet backend. */
#ifndef PHO_FACE_MTCNN_H
#define PHO_FACE_MTCNN_H

#include "core/common.h"

#include "face/backend.h"
#include "pho/image.h"

/* The three nets; read-only after open, so detection runs from any thread. */
struct face_mtcnn {
    struct face_ctx *ctx;
    struct pho_model *pnet, *rnet, *onet;
};

/* A candidate: box in image pixels, score, and the box regression (p-net, r-net)
 * or the 5 landmarks (o-net, in pts). */
struct face_mtcnn_cand {
    float x0, y0, x1, y1, score;
    float reg[4];
    float pts[5][2];
};

struct face_mtcnn_cands {
    struct face_mtcnn_cand *v;
    size_t n, cap;
};

int pho_face__mtcnn_open(struct face_mtcnn *m, struct face_ctx *ctx, struct pho_err *err);
void pho_face__mtcnn_close(struct face_mtcnn *m);

/* The whole cascade: final boxes (image pixels, x0 y0 x1 y1) with scores and
 * 5 points in @faces, which the caller frees (faces->v). */
int pho_face__mtcnn_detect(struct face_mtcnn *fn, const struct pho_image *img,
                           struct face_mtcnn_cands *faces, struct pho_err *err);

#endif
