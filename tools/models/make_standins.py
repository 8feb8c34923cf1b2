#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Write small synthetic ONNX stand-ins for the user-supplied face models.

Usage:
    make_standins.py --dest DIR

The stand-ins have exactly the input/output names, ranks, dtypes and dynamic
dimensions of the real files (see models/manifest.json), but their outputs
are simple closed-form functions of the input, so C tests can compute the
expected numbers by hand.  Layout written under DIR (the models-folder
layout the program searches):

    buffalo_l/det_10g.onnx  buffalo_l/2d106det.onnx  buffalo_l/w600k_r50.onnx
    buffalo_s/det_500m.onnx buffalo_s/2d106det.onnx  buffalo_s/w600k_mbf.onnx
    yolov8n-face.onnx       inception_resnet_v1_vggface2.onnx
    standins.json           (the formulas below, constants and worked examples)

Every weight is a small dyadic rational, the files are byte-for-byte
reproducible, and no randomness is involved.  In the formulas, pool_s(c) is
the mean of input channel c over one s x s cell (AveragePool kernel s,
stride s: cell (y, x) covers rows [y*s, (y+1)*s) and columns [x*s, (x+1)*s)).

SCRFD (det_10g, det_500m): input "input.1" [1,3,H,W], H and W multiples of
  32, values (pixel - 127.5) / 128.  Nine outputs in the official order:
  scores s8, s16, s32 [n_s,1]; boxes s8, s16, s32 [n_s,4]; keypoints s8, s16,
  s32 [n_s,10]; n_s = (H/s) * (W/s) * 2; rows ordered (y, x, anchor).
    score(anchor 0) = sigmoid(10 * pool_s(R) - 5)
    score(anchor 1) = sigmoid(10 * pool_s(G) - 5)
    box distances (stride units)  = (1.0, 1.25, 1.5, 1.75) for every anchor
    keypoints (stride units)      = (-0.5,-0.25) (0.5,-0.25) (0,0.25)
                                    (-0.375,0.75) (0.375,0.75)
  A white pixel is (255 - 127.5) / 128 = 0.99609375, so a white square on
  black lights exactly the anchors of the cells it covers with score
  sigmoid(4.9609375) = 0.99304 (black cells: 3.2e-7), and with the SCRFD
  decode (centre = (x*s, y*s)) every box is (cx - s, cy - 1.25s, cx + 1.5s,
  cy + 1.75s).
ArcFace (w600k_r50, w600k_mbf): input "input.1" [N,3,112,112],
  (pixel - 127.5) / 127.5.  f = pool_28 of all channels flattened in
  (channel, y, x) order (48 values); embedding = f @ M, M[i][j] =
  ((i*a + j*b) % p - c) / 8 with (a, b, p, c) = (7, 13, 17, 8) for r50 and
  (5, 11, 13, 6) for mbf.  Not normalised (like the real models).
2d106det: input "data" [N,3,192,192], raw 0..255.  I = channel mean;
  gx = (column + 0.5) / 96 - 1, gy likewise; cx = sum(I*gx) / (sum(I) + 1e-3),
  cy = sum(I*gy) / (sum(I) + 1e-3) (the brightness centroid in [-1,1]);
  output "fc1" [N,212]: point k = (cx + (k % 11 - 5) / 32, cy + (k // 11 - 4.5) / 32).
YOLOv8-face: input "images" [1,3,640,640], pixel / 255.  Output "output0"
  [1,20,8400]; column = anchor: stride 8 (80x80), 16 (40x40), 32 (20x20),
  row-major; centre ((x + 0.5) * s, (y + 0.5) * s).  Rows: cx, cy, w = 2s,
  h = 3s, score = sigmoid(16 * pool_s(R) - 8), then 5 keypoints (cx + dx*s,
  cy + dy*s, score) with the SCRFD keypoint offsets above.
InceptionResnetV1 (vggface2): input "input" [N,3,160,160], (pixel - 127.5)
  / 128; f = pool_40 flattened (48 values); e = f @ M with (a, b, p, c) =
  (3, 5, 19, 9); output "embedding" [N,512] = e / sqrt(sum(e^2) + 1e-12).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnxgraph  # noqa: E402
from onnxgraph import Graph  # noqa: E402

KPS = np.array([-0.5, -0.25, 0.5, -0.25, 0.0, 0.25, -0.375, 0.75, 0.375, 0.75], np.float32)
BOX = np.array([1.0, 1.25, 1.5, 1.75], np.float32)
SCRFD_NAMES = {
    "det_10g": ["448", "471", "494", "451", "474", "497", "454", "477", "500"],
    "det_500m": ["score_8", "score_16", "score_32", "bbox_8", "bbox_16", "bbox_32",
                 "kps_8", "kps_16", "kps_32"],
}
EMBED_PATTERNS = {"w600k_r50": (7, 13, 17, 8), "w600k_mbf": (5, 11, 13, 6),
                  "facenet": (3, 5, 19, 9)}


def pattern_matrix(rows, cols, a, b, p, c):
    i = np.arange(rows)[:, None]
    j = np.arange(cols)[None, :]
    return (((i * a + j * b) % p - c) / 8.0).astype(np.float32)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-np.asarray(v, np.float64)))


def _flat_rows(g, x, width, hint):
    """[1, C, h, w] -> [h*w*C/width, width] with rows ordered (y, x, channel group)."""
    t = g.node("Transpose", [x], hint=hint + "_t", perm=[0, 2, 3, 1])
    return t, g.const(np.array([-1, width], np.int64), hint + "_shape")


def scrfd(kind):
    g = Graph("scrfd_standin_" + kind)
    names = SCRFD_NAMES[kind]
    for n in ["input.1"] + names:
        g.reserve(n)
    g.add_input("input.1", [1, 3, "H", "W"])
    for si, s in enumerate((8, 16, 32)):
        p = g.node("AveragePool", ["input.1"], hint="pool%d" % s, kernel_shape=[s, s],
                   strides=[s, s])
        w = np.zeros((2, 3, 1, 1), np.float32)
        w[0, 0] = 10.0  # anchor 0 <- R
        w[1, 1] = 10.0  # anchor 1 <- G
        logit = g.node("Conv", [p, g.const(w, "score_w%d" % s),
                                g.const(np.full(2, -5.0, np.float32), "score_b%d" % s)],
                       hint="logit%d" % s, kernel_shape=[1, 1])
        score = g.node("Sigmoid", [logit], hint="score%d" % s)
        box = g.node("Conv", [p, g.const(np.zeros((8, 3, 1, 1), np.float32), "box_w%d" % s),
                              g.const(np.tile(BOX, 2), "box_b%d" % s)],
                     hint="box%d" % s, kernel_shape=[1, 1])
        kps = g.node("Conv", [p, g.const(np.zeros((20, 3, 1, 1), np.float32), "kps_w%d" % s),
                              g.const(np.tile(KPS, 2), "kps_b%d" % s)],
                     hint="kps%d" % s, kernel_shape=[1, 1])
        for j, (src, width) in enumerate(((score, 1), (box, 4), (kps, 10))):
            t, shape = _flat_rows(g, src, width, "%s%d" % (("score", "box", "kps")[j], s))
            g.node("Reshape", [t, shape], outputs=[names[3 * j + si]])
    for j, width in enumerate((1, 4, 10)):
        for si, s in enumerate((8, 16, 32)):
            g.add_output(names[3 * j + si], ["n%d" % s, width])
    return g.build(doc="photo-organizer stand-in for InsightFace SCRFD %s (synthetic)" % kind,
                   metadata={"standin": kind})


def arcface(kind, out_name):
    g = Graph("arcface_standin_" + kind)
    g.reserve("input.1")
    g.reserve(out_name)
    g.add_input("input.1", ["N", 3, 112, 112])
    p = g.node("AveragePool", ["input.1"], hint="pool", kernel_shape=[28, 28], strides=[28, 28])
    f = g.node("Flatten", [p], hint="features", axis=1)
    m = pattern_matrix(48, 512, *EMBED_PATTERNS[kind])
    g.node("MatMul", [f, g.const(m, "embed_matrix")], outputs=[out_name])
    g.add_output(out_name, ["N", 512])
    return g.build(doc="photo-organizer stand-in for InsightFace ArcFace %s (synthetic)" % kind,
                   metadata={"standin": kind})


def template106():
    k = np.arange(106)
    return ((k % 11 - 5) / 32.0).astype(np.float32), ((k // 11 - 4.5) / 32.0).astype(np.float32)


def landmark106():
    g = Graph("landmark106_standin")
    g.reserve("data")
    g.reserve("fc1")
    g.add_input("data", ["N", 3, 192, 192])
    i = g.node("ReduceMean", ["data"], hint="intensity", axes=[1], keepdims=1)  # [N,1,192,192]
    grid = ((np.arange(192, dtype=np.float64) + 0.5) / 96.0 - 1.0).astype(np.float32)
    gx = np.broadcast_to(grid[None, None, None, :], (1, 1, 192, 192)).copy()
    gy = np.broadcast_to(grid[None, None, :, None], (1, 1, 192, 192)).copy()
    axes = g.const(np.array([1, 2, 3], np.int64), "sum_axes")
    total = g.node("ReduceSum", [i, axes], hint="total", keepdims=0)  # [N]
    total = g.node("Add", [total, g.const(np.float32(1e-3), "eps")], hint="total_eps")
    sx = g.node("ReduceSum", [g.node("Mul", [i, g.const(gx, "grid_x")], hint="ix"), axes],
                hint="sum_x", keepdims=0)
    sy = g.node("ReduceSum", [g.node("Mul", [i, g.const(gy, "grid_y")], hint="iy"), axes],
                hint="sum_y", keepdims=0)
    cx = g.node("Div", [sx, total], hint="cx")
    cy = g.node("Div", [sy, total], hint="cy")
    shape = g.const(np.array([-1, 1], np.int64), "col")
    c = g.node("Concat", [g.node("Reshape", [cx, shape], hint="cx_col"),
                          g.node("Reshape", [cy, shape], hint="cy_col")], hint="centre", axis=1)
    spread = np.zeros((2, 212), np.float32)
    spread[0, 0::2] = 1.0
    spread[1, 1::2] = 1.0
    tx, ty = template106()
    t = np.empty(212, np.float32)
    t[0::2], t[1::2] = tx, ty
    moved = g.node("MatMul", [c, g.const(spread, "spread")], hint="moved")
    g.node("Add", [moved, g.const(t, "template")], outputs=["fc1"])
    g.add_output("fc1", ["N", 212])
    return g.build(doc="photo-organizer stand-in for InsightFace 2d106det (synthetic)",
                   metadata={"standin": "2d106det"})


def yolov8_face():
    g = Graph("yolov8_face_standin")
    g.reserve("images")
    g.reserve("output0")
    g.add_input("images", [1, 3, 640, 640])
    parts = []
    for s in (8, 16, 32):
        n = 640 // s
        p = g.node("AveragePool", ["images"], hint="pool%d" % s, kernel_shape=[s, s],
                   strides=[s, s])
        w = np.zeros((1, 3, 1, 1), np.float32)
        w[0, 0] = 16.0
        logit = g.node("Conv", [p, g.const(w, "score_w%d" % s),
                                g.const(np.array([-8.0], np.float32), "score_b%d" % s)],
                       hint="logit%d" % s, kernel_shape=[1, 1])
        score = g.node("Reshape", [g.node("Sigmoid", [logit], hint="score%d" % s),
                                   g.const(np.array([1, 1, n * n], np.int64), "flat%d" % s)],
                       hint="score_row%d" % s)
        gy, gx = np.mgrid[0:n, 0:n].astype(np.float32)
        cx = ((gx + 0.5) * s).reshape(-1)
        cy = ((gy + 0.5) * s).reshape(-1)
        box = np.stack([cx, cy, np.full_like(cx, 2.0 * s), np.full_like(cx, 3.0 * s)])[None]
        kxy = np.stack([cx + KPS[2 * k] * s if d == 0 else cy + KPS[2 * k + 1] * s
                        for k in range(5) for d in range(2)])  # [10, n*n]
        rows = [g.const(box, "box%d" % s), score]
        for k in range(5):
            rows.append(g.const(kxy[2 * k:2 * k + 2][None], "kp%d_%d" % (k, s)))
            rows.append(score)
        parts.append(g.node("Concat", rows, hint="anchors%d" % s, axis=1))
    g.node("Concat", parts, outputs=["output0"], axis=2)
    g.add_output("output0", [1, 20, 8400])
    return g.build(doc="photo-organizer stand-in for YOLOv8n-face (synthetic)",
                   metadata={"standin": "yolov8n-face"})


def facenet():
    g = Graph("facenet_standin")
    g.reserve("input")
    g.reserve("embedding")
    g.add_input("input", ["N", 3, 160, 160])
    p = g.node("AveragePool", ["input"], hint="pool", kernel_shape=[40, 40], strides=[40, 40])
    f = g.node("Flatten", [p], hint="features", axis=1)
    e = g.node("MatMul", [f, g.const(pattern_matrix(48, 512, *EMBED_PATTERNS["facenet"]),
                                     "embed_matrix")], hint="raw")
    sq = g.node("ReduceSum", [g.node("Mul", [e, e], hint="sq"),
                              g.const(np.array([1], np.int64), "axis1")], hint="sumsq",
                keepdims=1)
    norm = g.node("Sqrt", [g.node("Add", [sq, g.const(np.float32(1e-12), "eps")],
                                  hint="sumsq_eps")], hint="norm")
    g.node("Div", [e, norm], outputs=["embedding"])
    g.add_output("embedding", ["N", 512])
    return g.build(doc="photo-organizer stand-in for InceptionResnetV1 vggface2 (synthetic)",
                   metadata={"standin": "inception_resnet_v1_vggface2"})


# ---------------------------------------------------------------------------
# worked examples (computed with NumPy from the formulas, not by running ORT)
# ---------------------------------------------------------------------------


def scrfd_example():
    """640x640 black image, white square x in [256,384), y in [192,320)."""
    img = np.zeros((640, 640, 3), np.float32)
    img[192:320, 256:384] = 255.0
    x = (img - 127.5) / 128.0
    res = {"image": "640x640 RGB, black (0,0,0) with a white (255,255,255) square at "
                    "x in [256,384), y in [192,320); input (pixel-127.5)/128", "strides": {}}
    for s in (8, 16, 32):
        cells = x.reshape(640 // s, s, 640 // s, s, 3).mean(axis=(1, 3))
        score = sigmoid(10.0 * cells[..., :2] - 5.0)  # [h, w, 2] -> rows (y, x, a)
        flat = score.reshape(-1)
        lit = np.nonzero(flat > 0.5)[0]
        first = int(lit[0])
        cell, a = divmod(first, 2)
        yy, xx = divmod(cell, 640 // s)
        cxy = (xx * s, yy * s)
        res["strides"][str(s)] = {
            "rows": int(flat.size), "rows_above_0.5": int(lit.size),
            "score_inside": float(flat[first]), "score_outside": float(flat.min()),
            "first_lit_row": first, "first_lit_anchor": a, "first_lit_cell_yx": [yy, xx],
            "first_lit_box": [cxy[0] - BOX[0] * s, cxy[1] - BOX[1] * s,
                              cxy[0] + BOX[2] * s, cxy[1] + BOX[3] * s],
            "first_lit_keypoints": [float(cxy[k % 2] + KPS[k] * s) for k in range(10)]}
    return res


def embedding_example(kind, size, mean, scale, normalise):
    """Uniform grey 100,150,200 (R,G,B) image."""
    img = np.empty((3, size, size), np.float64)
    for c, v in enumerate((100.0, 150.0, 200.0)):
        img[c] = (v - mean) * scale
    f = np.repeat(img[:, 0, 0], 16)
    e = f @ pattern_matrix(48, 512, *EMBED_PATTERNS[kind]).astype(np.float64)
    if normalise:
        e = e / np.sqrt((e * e).sum() + 1e-12)
    return {"image": "uniform RGB (100, 150, 200)", "first_8": [float(v) for v in e[:8]],
            "l2_norm": float(np.sqrt((e * e).sum()))}


def landmark_example():
    img = np.zeros((3, 192, 192), np.float64)
    img[:, 0:48, 144:192] = 255.0  # top-right 48x48 block
    i = img.mean(axis=0)
    grid = (np.arange(192) + 0.5) / 96.0 - 1.0
    total = i.sum() + 1e-3
    cx, cy = (i * grid[None, :]).sum() / total, (i * grid[:, None]).sum() / total
    tx, ty = template106()
    return {"image": "192x192 black with a white block rows [0,48) x columns [144,192)",
            "centroid": [float(cx), float(cy)],
            "point_0": [float(cx + tx[0]), float(cy + ty[0])],
            "point_105": [float(cx + tx[105]), float(cy + ty[105])],
            "point_0_crop_pixels": [float((cx + tx[0] + 1) * 96), float((cy + ty[0] + 1) * 96)]}


def yolo_example():
    img = np.zeros((640, 640, 3), np.float64)
    img[192:320, 256:384] = 255.0
    x = img / 255.0
    res = {"image": "640x640 black with a white square x in [256,384), y in [192,320); "
                    "input pixel/255", "strides": {}}
    offset = 0
    for s in (8, 16, 32):
        n = 640 // s
        cells = x.reshape(n, s, n, s, 3).mean(axis=(1, 3))[..., 0]
        score = sigmoid(16.0 * cells - 8.0).reshape(-1)
        lit = np.nonzero(score > 0.5)[0]
        yy, xx = divmod(int(lit[0]), n)
        res["strides"][str(s)] = {
            "columns": [offset, offset + n * n], "above_0.5": int(lit.size),
            "score_inside": float(score[lit[0]]), "score_outside": float(score.min()),
            "first_lit_column": offset + int(lit[0]),
            "first_lit_box_cxcywh": [(xx + 0.5) * s, (yy + 0.5) * s, 2.0 * s, 3.0 * s]}
        offset += n * n
    return res


def describe():
    tx, ty = template106()
    return {
        "version": 1,
        "generator": "tools/models/make_standins.py",
        "note": "Synthetic stand-ins with the real models' input/output contracts; see the "
                "generator's docstring for the formulas. Worked examples were computed with "
                "NumPy from the formulas; ONNX Runtime agrees to float32 rounding (checked by "
                "tests/models/check_standins.py).",
        "constants": {"scrfd_box_distances": BOX.tolist(), "keypoint_offsets": KPS.tolist(),
                      "template106_x": tx.tolist(), "template106_y": ty.tolist(),
                      "embed_patterns": {k: list(v) for k, v in EMBED_PATTERNS.items()}},
        "files": {
            "buffalo_l/det_10g.onnx": {"mimics": "scrfd_10g", "example": scrfd_example()},
            "buffalo_s/det_500m.onnx": {"mimics": "scrfd_500m", "example": "as det_10g"},
            "buffalo_l/w600k_r50.onnx": {"mimics": "arcface_r50", "example": embedding_example(
                "w600k_r50", 112, 127.5, 1 / 127.5, False)},
            "buffalo_s/w600k_mbf.onnx": {"mimics": "arcface_mbf", "example": embedding_example(
                "w600k_mbf", 112, 127.5, 1 / 127.5, False)},
            "buffalo_l/2d106det.onnx": {"mimics": "landmark_2d106_l",
                                        "example": landmark_example()},
            "buffalo_s/2d106det.onnx": {"mimics": "landmark_2d106_s", "example": "as buffalo_l"},
            "yolov8n-face.onnx": {"mimics": "yolov8n_face", "example": yolo_example()},
            "inception_resnet_v1_vggface2.onnx": {"mimics": "facenet_vggface2",
                                                  "example": embedding_example(
                                                      "facenet", 160, 127.5, 1 / 128, True)},
        },
    }


def build_all():
    """{relative path: model bytes}"""
    lmk = onnxgraph.model_bytes(landmark106())
    return {
        "buffalo_l/det_10g.onnx": onnxgraph.model_bytes(scrfd("det_10g")),
        "buffalo_l/2d106det.onnx": lmk,
        "buffalo_l/w600k_r50.onnx": onnxgraph.model_bytes(arcface("w600k_r50", "683")),
        "buffalo_s/det_500m.onnx": onnxgraph.model_bytes(scrfd("det_500m")),
        "buffalo_s/2d106det.onnx": lmk,
        "buffalo_s/w600k_mbf.onnx": onnxgraph.model_bytes(arcface("w600k_mbf", "embedding")),
        "yolov8n-face.onnx": onnxgraph.model_bytes(yolov8_face()),
        "inception_resnet_v1_vggface2.onnx": onnxgraph.model_bytes(facenet()),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write synthetic stand-ins of the user-supplied "
                                             "face models.")
    ap.add_argument("--dest", required=True, help="folder to write into")
    args = ap.parse_args(argv)
    files = build_all()
    for rel, blob in files.items():
        path = os.path.join(args.dest, rel)
        onnxgraph.write_atomic(path, blob)
        print("%-38s %8d bytes  sha256 %s" % (rel, len(blob), onnxgraph.sha256_bytes(blob)))
    side = onnxgraph.format_json(describe()) + "\n"
    onnxgraph.write_atomic(os.path.join(args.dest, "standins.json"), side.encode("utf-8"))
    print("standins.json written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
