#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""dlib ResNet-34 descriptor built from face-api weights: checks.

1. Reference: the same network written with TensorFlow.js ops after
   face-api's src/faceRecognitionNet/*.ts (tests/models/tfjs_ref.js), with the
   weights dequantised by tfjs itself (tf.io.decodeWeights), run on node's
   CPU backend; our ONNX must agree to 1e-4 on random and photo inputs.
   This checks the graph builder, the uint8 weight decoding and the
   residual-down padding against an independent implementation.
2. Output shape [N,128]; batch 1 and batch N give the same per-item results;
   two runs give identical bytes; the descriptor is not constant.
3. Same photo vs itself mirrored is closer than two different people
   (sanity only: real identity tests need the detector, C side).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

MANIFEST = "model/face_recognition_model-weights_manifest.json"
MEAN = np.array([122.782, 117.001, 104.298], np.float32)
PHOTOS = ["faces/portraits/obama.jpg", "faces/portraits/obama2.jpg",
          "faces/portraits/biden.jpg", "faces/portraits/tom_hanks_2.jpg"]


def norm(img):
    return ((img.astype(np.float32) - MEAN) / 255.0).astype(np.float32)


def main():
    rep = common.Report("dlib_resnet (face-api weights) checks")
    path = common.ensure_models(["dlib_resnet"])["dlib_resnet"]
    common.ensure_tfjs()
    folder = common.unpack_package("@vladmandic/face-api",
                                   [MANIFEST, "model/face_recognition_model.bin"])

    r = common.rng(150)
    cases = [("random #%d" % i, r.uniform(-0.5, 0.5, (150, 150, 3)).astype(np.float32))
             for i in range(2)]
    faces = common.photos(PHOTOS, 150)
    cases += [("photo " + n, norm(img)) for n, img in faces]
    batch = np.stack([x for _, x in cases])

    (name, ours), = common.run_ort(path, [batch])
    rep.check("output name and shape", name == "descriptor" and ours.shape == (len(cases), 128),
              "%s %s" % (name, list(ours.shape)))
    (_, ref), = common.tfjs_faceapi(os.path.join(folder, MANIFEST), batch)
    for i, (label, _) in enumerate(cases):
        rep.compare("descriptor vs tfjs face-api forward: %s" % label, ours[i], ref[i], 1e-4)

    single = np.stack([common.run_ort(path, [x[None]])[0][1][0] for _, x in cases])
    rep.compare("batch %d vs batch 1, all items" % len(cases), ours, single, 1e-5)
    (_, again), = common.run_ort(path, [batch])
    rep.check("two runs give identical bytes", again.tobytes() == ours.tobytes())
    rep.check("descriptor varies with the input",
              float(np.abs(ours[0] - ours[1]).max()) > 1e-3)

    if len(faces) == len(PHOTOS):
        d = {n: ours[2 + i] for i, (n, _) in enumerate(faces)}
        (_, mirrored), = common.run_ort(path, [norm(faces[0][1][:, ::-1])[None]])
        same = float(np.linalg.norm(d["obama.jpg"] - mirrored[0]))
        other = min(float(np.linalg.norm(d["obama.jpg"] - d[n]))
                    for n in ("biden.jpg", "tom_hanks_2.jpg"))
        print("     centre-crop distances: obama vs mirrored %.3f, vs obama2 %.3f, "
              "vs other people >= %.3f" % (same, float(np.linalg.norm(d["obama.jpg"] -
                                                                    d["obama2.jpg"])), other))
        rep.check("mirrored photo closer than other people", same < other)
    rep.finish()


if __name__ == "__main__":
    main()
