/* SPDX-License-Identifier: MIT */
/*
 * Private to src/face: the arithmetic of InsightFace's models (scrfd.c),
 * apart from the backend so the unit tests can check it on the stand-ins'
 * raw outputs (nothing here allocates or calls into the rest of the
 * library).
 *
 * SCRFD (det_10g, det_500m): nine outputs, scores / box distances / keypoint
 * offsets at strides 8, 16 and 32. They are bound by shape, never by name or
 * position, because re-exports rename and reorder them and batched exports
 * add a leading dimension of 1: the last dimension says what an output is
 * (1, 4 or 10 values per row) and the row count says which stride (rows =
 * (H/s) * (W/s) * anchors per cell), which is unambiguous for 1 or 2
 * anchors per cell and the three strides.
 *
 * 2d106det: 106 points in [-1,1] over a 192x192 crop. The crop is the one
 * InsightFace's Landmark model takes: a square of 1.5 times the box's
 * longer side, centred on the box, not rotated.
 *
 * Coordinates are continuous (pixel i covers [i, i+1)) throughout; pho_face__warp
 * wants a map between pixel centres, which pho_face__lmk106_crop_affine gives.
 */
#ifndef PHO_FACE_SCRFD_H
#define PHO_FACE_SCRFD_H

#include "core/common.h"

#include <math.h>

#include "face/detect.h"
#include "face/util.h"
#include "pho/infer.h"

enum { FACE_SCRFD_LEVELS = 3 };

struct face_scrfd_level {
    const float *score, *box, *kps; /* rows x 1, rows x 4, rows x 10 */
    size_t rows;
    int stride, anchors; /* anchors per cell */
};

/* Rows x width of a [rows, width] or [1, rows, width] output; false for anything else. */
bool pho_face__scrfd_rows(const struct pho_tensor *t, size_t *rows, int64_t *width);

/*
 * Binds the nine outputs of a run on an in_w x in_h input (multiples of 32)
 * to lv[0..2] (strides 8, 16, 32). @return true, or false with *bad set to
 * the first output that fits nowhere or is bound twice (nout if one is
 * missing).
 */
bool pho_face__scrfd_bind(struct face_scrfd_level lv[FACE_SCRFD_LEVELS],
                          const struct pho_tensor *out, size_t nout, int in_w, int in_h,
                          size_t *bad);

/*
 * Decodes the rows of one level whose score is at least @thresh into @dst
 * (input coordinates), writing at most @cap of them. Rows run (y, x,
 * anchor); the anchor centre is the cell's corner (x * s, y * s), with no
 * half-cell shift, and distances are in stride units. @return how many rows
 * passed (which may exceed @cap: call with cap 0 to count).
 */
size_t pho_face__scrfd_decode(const struct face_scrfd_level *l, int in_w, float thresh,
                              struct face_det *dst, size_t cap);

/* ---- 2d106 ---- */

enum { FACE_LMK106_SIZE = 192, FACE_LMK106_POINTS = 106 };

/* The 2d106 crop: crop = (image - centre) * scale + 96, continuous coordinates. */
struct face_lmk106_crop {
    float cx, cy, scale;
};

bool pho_face__lmk106_crop(const float box[4], struct face_lmk106_crop *c);

/* The same map between pixel centres, as pho_face__warp takes it. */
void pho_face__lmk106_crop_affine(const struct face_lmk106_crop *c, face_affine m);

/* A model value pair in [-1,1] to image coordinates: crop pixel (v + 1) * 96, then back. */
void pho_face__lmk106_to_image(const struct face_lmk106_crop *c, float vx, float vy, float *x,
                               float *y);

/*
 * The eyes in the 2d106 layout. InsightFace's markup numbers the points by
 * name, in alphabetical order of Face++-style names: contour 0-32, left eye
 * 33-42, left eyebrow 43-51, mouth 52-71, nose 72-86, right eye 87-96, right
 * eyebrow 97-105, "left" being the image's left on an upright face. Inside
 * an eye the ten names sort as bottom, centre, left corner, lower-left
 * quarter, lower-right quarter, pupil, right corner, top, upper-left
 * quarter, upper-right quarter; so the lid contour, clockwise from the
 * image-left corner, is 35 41 40 42 39 37 33 36 (87 + the same offsets for
 * the other eye), and 34/38 are the iris centre and pupil, not on the lid.
 * (The markup image is the only published layout; the eyelid rings that
 * public code draws over 2d106 output follow exactly this order.)
 *
 * dlib's six points (corner, upper, upper, corner, lower, lower; p1 above
 * p5 and p2 above p4) come from the two corners and the four quarter
 * points. The top/bottom midpoints are left out because dlib has no point
 * there; the quarter points sit nearer the corners than dlib's thirds, which
 * is why the closed-eye threshold below is lower than dlib's.
 *
 * pho_face__lmk106_eyes picks both eyes' six points from the 106 (image
 * coordinates). Which group is the image-left eye is checked against the
 * detector's eye keypoints (@kp_l, @kp_r: the image-left eye first, as SCRFD
 * gives them): the group whose centre lies further along kp_l -> kp_r
 * becomes eye_r. InsightFace never documents its left/right naming, so this
 * keeps the answer right even if a re-trained model mirrors it, and on any
 * head roll. @return true when the groups were swapped.
 */
bool pho_face__lmk106_eyes(const float (*pts)[2], const float kp_l[2], const float kp_r[2],
                           float eye_l[6][2], float eye_r[6][2]);

/*
 * Closed-eye threshold on the 2d106 EAR. PROVISIONAL: no real 2d106 weights
 * were available to calibrate it. Derived from the original's dlib rule
 * (mean EAR < 0.2): modelling the lid as an ellipse, the opening at a
 * quarter of the eye's width is sqrt(1 - 0.5^2) = 0.866 of the central one,
 * at a third (dlib's lid points) sqrt(1 - (1/3)^2) = 0.943, so the same eye
 * reads about 0.92 x its dlib EAR here: 0.2 * 0.92 = 0.18. Measure open and
 * closed eyes with the real model and replace this.
 */
#define FACE_LMK106_CLOSED_EAR 0.18f

/*
 * Open/closed from the two eyes' EAR against @thresh: closed when either
 * eye is below it (a wink counts as closed), winking when exactly one is.
 * Unknown (-1) when either EAR is NAN.
 */
void pho_face__eye_state(float ear_l, float ear_r, float thresh, int8_t *closed, int8_t *winking);

/*
 * A rough head turn, defined as the mesh stage does so both read alike:
 * where the nose tip falls along the line between the two outer eye
 * corners, 0 midway, -1 at the image-left corner (head turned to the image's
 * left), 1 at the other, clamped. NAN when the corners coincide.
 */
float pho_face__yaw(const float outer_l[2], const float outer_r[2], const float nose[2]);

#endif /* PHO_FACE_SCRFD_H */
