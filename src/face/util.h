/* SPDX-License-Identifier: MIT */
/*
 * Private to src/face: geometry and pixel helpers every backend needs: model
 * input tensors (resize, letterbox, affine warps), similarity alignment,
 * non-maximum suppression, eye aspect ratio and crop sharpness.
 * Coordinates here are pixels of the analysed image unless a name says
 * "norm" (0..1).
 */
#ifndef PHO_FACE_UTIL_H
#define PHO_FACE_UTIL_H

#include "core/common.h"

#include "pho/face.h"
#include "pho/image.h"

/* A 2x3 affine map: x' = m[0][0] x + m[0][1] y + m[0][2], y' = m[1][0] x + m[1][1] y + m[1][2]. */
typedef float face_affine[2][3];

/* The ArcFace 112x112 template (image-left eye, image-right eye, nose, mouth corners). */
extern const float pho_face__arcface_112[5][2];

/*
 * Least-squares similarity (rotation, uniform scale, translation; no
 * reflection) taking @src onto @dst (Umeyama 1991). @return false when the
 * points are degenerate.
 */
bool pho_face__similarity(const float (*src)[2], const float (*dst)[2], size_t n, face_affine out);

/* The similarity from the pixel centres of @f's five points (normalised, in a @w x @h image)
 * onto @tmpl (tensor pixel centres); false when the points are degenerate. */
bool pho_face__align5(const struct pho_face *f, float w, float h, const float (*tmpl)[2],
                      face_affine out);

/* Inverse of an invertible affine map; false when singular. */
bool pho_face__affine_invert(const face_affine m, face_affine out);

/* Applies @m to (x, y). */
void pho_face__affine_apply(const face_affine m, float x, float y, float *ox, float *oy);

/* How model input values are made from 0..255 pixels: (px - mean[c]) * scale[c]. */
struct face_norm {
    float mean[3], scale[3];
    bool nchw; /* planar channels (ONNX/PyTorch models) instead of interleaved */
    bool bgr;  /* channel order blue, green, red */
    bool grey; /* one channel: 0.2989 R + 0.587 G + 0.114 B before normalising */
};

/*
 * Samples @img through @m (which maps IMAGE pixels to OUTPUT pixels) into an
 * out_w x out_h tensor at @dst (bilinear; outside the image: pixel value 0
 * before normalisation).
 */
void pho_face__warp(const struct pho_image *img, const face_affine m, int out_w, int out_h,
                    const struct face_norm *norm, float *dst);

/*
 * Letterbox: the whole of @img (or, with @roi != NULL, the rectangle
 * x0,y0,x1,y1 of it) scaled uniformly and centred into size x size; fills
 * @dst and the map from image pixels to tensor pixels.
 */
void pho_face__letterbox(const struct pho_image *img, const float *roi, int size,
                         const struct face_norm *norm, float *dst, face_affine img_to_tensor);

/* A detection in image pixels, with up to 6 keypoints. */
struct face_det {
    float x0, y0, x1, y1;
    float score;
    float kp[6][2];
    int nkp;
};

float pho_face__iou(const struct face_det *a, const struct face_det *b);

/* Plain NMS: sorts by score, keeps boxes overlapping a kept one by at most @iou. Returns the count
 * kept (in place). */
/* qsort order of detections: higher score first, ties by position, so the order never
 * depends on qsort. */
int pho_face__det_by_score(const void *a, const void *b);

size_t pho_face__nms(struct face_det *dets, size_t n, float iou);

/*
 * MediaPipe's weighted NMS: each kept box (and its keypoints) is the
 * score-weighted mean of the boxes overlapping it by more than @iou.
 */
size_t pho_face__nms_weighted(struct face_det *dets, size_t n, float iou);

/* Eye aspect ratio of six points in dlib's order: (|p1-p5| + |p2-p4|) / (2 |p0-p3|); NAN if
 * degenerate. */
float pho_face__ear(const float p[6][2]);

/* Variance of the Laplacian of the face box (pixels), on a 96x96 grey crop. */
float pho_face__crop_sharpness(const struct pho_image *img, const float box[4]);

/* Fills f->sharpness (pho_face__crop_sharpness of its box) unless it is already known. */
void pho_face__fill_sharpness(struct pho_face *f, const struct pho_image *img);

static inline float pho_face__sigmoid(float x)
{
    if (x > 80)
        x = 80;
    if (x < -80)
        x = -80;
    return 1.0f / (1.0f + __builtin_expf(-x));
}

#endif /* PHO_FACE_UTIL_H */
