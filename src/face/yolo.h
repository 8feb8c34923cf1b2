/* SPDX-License-Identifier: MIT */
/*
 * Private to src/face: decoding a YOLOv8-face (pose-head) export (yolo.c),
 * apart from the backend so the unit tests can run it on the stand-in's raw
 * output.
 *
 * An Ultralytics pose export already decodes its anchors inside the graph:
 * output0 is [1, 4 + 1 + 3K, N], one column per anchor (strides 8, 16, 32;
 * N = 8400 at 640x640), rows cx, cy, w, h in input pixels, the face score as
 * a probability, then K = 5 keypoints as (x, y, visibility). So the C side
 * only thresholds and converts; there is no anchor arithmetic to get wrong,
 * and the box is centre +- half its size.
 *
 * Colour: the network wants RGB in [0, 1]. The original passed an RGB array
 * to Ultralytics, which takes numpy input as BGR and swaps it, so the model
 * saw BGR; the backend feeds RGB directly (tests/unit/test_face_yolov8.c
 * keeps it that way).
 */
#ifndef PHO_FACE_YOLO_H
#define PHO_FACE_YOLO_H

#include "core/common.h"

#include "face/detect.h"
#include "face/util.h"
#include "pho/infer.h"

enum { FACE_YOLO_KPS = 5, FACE_YOLO_ROWS = 4 + 1 + 3 * FACE_YOLO_KPS };

/* Anchor count of an output shaped [1, 20, N]; 0 when it is shaped otherwise. */
size_t pho_face__yolo_anchors(const struct pho_tensor *t);

/*
 * Anchors of @out ([20, n], channel-major) scoring at least @thresh, into
 * @dst (input pixels), at most @cap of them. @return how many passed (call
 * with cap 0 to count).
 */
size_t pho_face__yolo_decode(const float *out, size_t n, float thresh, struct face_det *dst,
                             size_t cap);

#endif /* PHO_FACE_YOLO_H */
