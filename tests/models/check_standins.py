#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Synthetic stand-ins (tools/models/make_standins.py): determinism and behaviour.

1. Two runs of make_standins.py give byte-identical files.
2. Every stand-in's input/output names and shapes match the user-supplied
   entry of models/manifest.json it mimics (the contract the C code checks).
3. Run in ONNX Runtime, every stand-in reproduces the worked examples that
   standins.json records (computed there with NumPy from the formulas), and
   SCRFD's dynamic input size and the embedders' dynamic batch work.
"""

import filecmp
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import onnx  # noqa: E402
import onnxgraph  # noqa: E402

GEN = os.path.join(common.TOOLS, "make_standins.py")


def square_image(h, w):
    img = np.zeros((h, w, 3), np.float32)
    img[192:320, 256:384] = 255.0
    return img


def nchw(img, mean, scale):
    return ((img - mean) * scale).transpose(2, 0, 1)[None].astype(np.float32)


def check_contract(rep, rel, path, entry):
    m = onnx.load(path)
    for kind, values in (("inputs", m.graph.input), ("outputs", m.graph.output)):
        got = [(n, [d if isinstance(d, int) else -1 for d in dims])
               for n, dims in onnxgraph.value_info_shapes(values)]
        want = [(s["name"], s["shape"]) for s in entry[kind]]
        rep.check("%s %s match manifest entry %s" % (rel, kind, entry["name"]), got == want,
                  "" if got == want else "%s vs %s" % (got, want))


def check_scrfd(rep, path, example):
    x = nchw(square_image(640, 640), 127.5, 1 / 128)
    outs = common.run_ort(path, [x])
    for si, s in enumerate(("8", "16", "32")):
        ex = example["strides"][s]
        score = outs[si][1].reshape(-1)
        box, kps = outs[3 + si][1], outs[6 + si][1]
        lit = np.nonzero(score > 0.5)[0]
        rep.check("SCRFD stride %s: %d rows, %d above 0.5, first lit row %d" % (
            s, ex["rows"], ex["rows_above_0.5"], ex["first_lit_row"]),
            score.size == ex["rows"] and lit.size == ex["rows_above_0.5"] and
            lit[0] == ex["first_lit_row"], "%d rows, %d lit, first %s" % (
                score.size, lit.size, lit[:1]))
        rep.compare("SCRFD stride %s scores inside/outside" % s,
                    [score[lit[0]], score.min()], [ex["score_inside"], ex["score_outside"]],
                    1e-6)
        n = int(s)
        row = ex["first_lit_row"]
        cell = row // 2
        cy, cx = divmod(cell, 640 // n)
        cx, cy = cx * n, cy * n
        d = box[row] * n
        k = kps[row] * n
        rep.compare("SCRFD stride %s decoded box/keypoints of first lit row" % s,
                    np.concatenate([[cx - d[0], cy - d[1], cx + d[2], cy + d[3]],
                                    [v + (cx if i % 2 == 0 else cy) for i, v in enumerate(k)]]),
                    ex["first_lit_box"] + ex["first_lit_keypoints"], 1e-4)
    # dynamic input size: 480 x 640
    x = nchw(np.zeros((480, 640, 3), np.float32), 127.5, 1 / 128)
    outs = common.run_ort(path, [x])
    want = [(480 // s) * (640 // s) * 2 for s in (8, 16, 32)]
    rep.check("SCRFD 480x640 input: rows per stride %s" % want,
              [outs[i][1].shape[0] for i in range(3)] == want and
              [o.shape[1] for _, o in outs] == [1, 1, 1, 4, 4, 4, 10, 10, 10],
              str([list(o.shape) for _, o in outs]))


def check_embedder(rep, rel, path, size, mean, scale, example):
    img = np.empty((size, size, 3), np.float32)
    img[:] = (100.0, 150.0, 200.0)
    r = common.rng(size)
    noise = r.uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    batch = np.concatenate([nchw(img, mean, scale)] + [nchw(n, mean, scale) for n in noise])
    (_, e), = common.run_ort(path, [batch])
    rep.check("%s output shape for batch 3" % rel, e.shape == (3, 512), str(e.shape))
    rep.compare("%s embedding of uniform (100,150,200): first 8 values" % rel, e[0, :8],
                example["first_8"], 1e-4, rel=True)
    rep.compare("%s embedding norm" % rel, np.linalg.norm(e[0]), example["l2_norm"], 1e-4,
                rel=True)
    (_, one), = common.run_ort(path, [batch[2:3]])
    rep.compare("%s batch 1 vs batch 3" % rel, one[0], e[2], 1e-6, rel=True)


def check_landmark(rep, path, example):
    img = np.zeros((192, 192, 3), np.float32)
    img[0:48, 144:192] = 255.0
    (_, out), = common.run_ort(path, [img.transpose(2, 0, 1)[None]])
    rep.check("2d106det output shape", out.shape == (1, 212), str(out.shape))
    rep.compare("2d106det points 0 and 105", [out[0, 0], out[0, 1], out[0, 210], out[0, 211]],
                example["point_0"] + example["point_105"], 1e-4)


def check_yolo(rep, path, example):
    x = nchw(square_image(640, 640), 0.0, 1 / 255)
    (_, out), = common.run_ort(path, [x])
    rep.check("YOLOv8-face output shape", out.shape == (1, 20, 8400), str(out.shape))
    for s in ("8", "16", "32"):
        ex = example["strides"][s]
        a, b = ex["columns"]
        score = out[0, 4, a:b]
        lit = np.nonzero(score > 0.5)[0]
        rep.check("YOLOv8-face stride %s: %d above 0.5, first column %d" % (
            s, ex["above_0.5"], ex["first_lit_column"]),
            lit.size == ex["above_0.5"] and a + lit[0] == ex["first_lit_column"],
            "%d lit, first %s" % (lit.size, a + lit[:1]))
        col = ex["first_lit_column"]
        rep.compare("YOLOv8-face stride %s box and scores" % s,
                    list(out[0, :4, col]) + [out[0, 4, col], score.min()],
                    ex["first_lit_box_cxcywh"] + [ex["score_inside"], ex["score_outside"]],
                    1e-4)


def main():
    rep = common.Report("synthetic stand-ins")
    with tempfile.TemporaryDirectory(dir=common._workdir()) as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        for d in (a, b):
            proc = subprocess.run([sys.executable, GEN, "--dest", d], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            if proc.returncode != 0:
                print(proc.stdout)
                rep.check("make_standins.py runs", False)
                rep.finish()
        files = sorted(os.path.relpath(os.path.join(r, f), a)
                       for r, _, fs in os.walk(a) for f in fs)
        same = all(filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False)
                   for f in files)
        rep.check("two runs of make_standins.py give identical files (%d files)" % len(files),
                  same)
        with open(os.path.join(a, "standins.json"), encoding="utf-8") as f:
            side = json.load(f)
        entries = {e["name"]: e for e in common.manifest()["models"]}
        for rel, info in side["files"].items():
            path = os.path.join(a, rel)
            check_contract(rep, rel, path, entries[info["mimics"]])
            print("     %s: %d bytes, sha256 %s" % (rel, os.path.getsize(path),
                                                    onnxgraph.sha256_file(path)))
        ex = side["files"]
        check_scrfd(rep, os.path.join(a, "buffalo_l/det_10g.onnx"),
                    ex["buffalo_l/det_10g.onnx"]["example"])
        check_scrfd(rep, os.path.join(a, "buffalo_s/det_500m.onnx"),
                    ex["buffalo_l/det_10g.onnx"]["example"])
        for rel, size, mean, scale in (("buffalo_l/w600k_r50.onnx", 112, 127.5, 1 / 127.5),
                                       ("buffalo_s/w600k_mbf.onnx", 112, 127.5, 1 / 127.5),
                                       ("inception_resnet_v1_vggface2.onnx", 160, 127.5,
                                        1 / 128)):
            check_embedder(rep, rel, os.path.join(a, rel), size, mean, scale, ex[rel]["example"])
        check_landmark(rep, os.path.join(a, "buffalo_l/2d106det.onnx"),
                       ex["buffalo_l/2d106det.onnx"]["example"])
        check_yolo(rep, os.path.join(a, "yolov8n-face.onnx"), ex["yolov8n-face.onnx"]["example"])
    rep.finish()


if __name__ == "__main__":
    main()
