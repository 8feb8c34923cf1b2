/* SPDX-License-Identifier: MIT */
/*
 * Private to src/face: what the two letterboxing detectors (SCRFD and
 * YOLOv8-face) share once their outputs are decoded: taking detections from
 * tensor coordinates back to the image (detect.c), which the unit tests
 * use as the backends do.
 *
 * Detector outputs are continuous coordinates (pixel i covers [i, i+1)),
 * while pho_face__letterbox's map is between pixel centres, hence the half
 * pixel on each side of the inverse.
 */
#ifndef PHO_FACE_DETECT_H
#define PHO_FACE_DETECT_H

#include "core/common.h"

#include <stdio.h>

#include "face/util.h"
#include "pho/infer.h"

/* A continuous tensor point through @inv (tensor pixel centres -> image pixel centres). */
void pho_face__tensor_to_image(const face_affine inv, float u, float v, float *x, float *y);

/* Box and keypoints of @d from tensor to image coordinates, in place. */
void pho_face__det_to_image(const face_affine inv, struct face_det *d);

/*
 * Drops detections whose longer side is under @min_face of the image's
 * longer side (pho_face_opts.min_face: the smallest face asked for), keeping
 * the order. @return the count left.
 */
size_t pho_face__dets_min_size(struct face_det *d, size_t n, float min_face, unsigned img_w,
                               unsigned img_h);

static inline float pho_face__clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/*
 * Box (clipped to the image: what is outside cannot be looked at), score and
 * five points of @d (image pixels) into @f, normalised to the image. Points
 * are not clipped: a face cut by the frame keeps its true geometry.
 */
void pho_face__det_fill(struct pho_face *f, const struct face_det *d, unsigned img_w,
                        unsigned img_h);

/*
 * The detector input: @img letterboxed into a size x size NCHW tensor with
 * @norm, and the maps both ways (to_image takes tensor pixel centres back to
 * the image). *out is the tensor (pho_free()). @return 0, PHO_ENOMEM or
 * PHO_EINVAL (an image too small to letterbox).
 */
int pho_face__letterbox_input(float **out, const struct pho_image *img, int size,
                              const struct face_norm *norm, face_affine to_tensor,
                              face_affine to_image, struct pho_err *err);

/*
 * What both letterboxing detectors do with their decoded detections: back to
 * image pixels, the min_face filter, NMS at @iou, at most @max kept.
 * @return the count kept (best first).
 */
size_t pho_face__dets_finish(struct face_det *d, size_t n, const face_affine to_image,
                             float min_face, const struct pho_image *img, float iou, size_t max);

/* "[1,20,8400]": a tensor's shape for error messages about unexpected exports. */
const char *pho_face__shape_str(const struct pho_tensor *t, char *buf, size_t size);

#endif /* PHO_FACE_DETECT_H */
