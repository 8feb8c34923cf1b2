#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Build the dlib ResNet-34 face descriptor (128-d) as ONNX from face-api weights.

Usage:
    faceapi_resnet.py face_recognition_model-weights_manifest.json OUT.onnx

@vladmandic/face-api ships only weights (a tfjs weights manifest plus one
.bin, mostly uint8-affine quantized); the network is code in its
src/faceRecognitionNet/.  This builder writes the same network as an ONNX
graph.  The architecture is dlib's dlib_face_recognition_resnet_model_v1 as
face-api implements it:

  conv(x)      = Conv(x, filters, same) + bias, then the "scale" layer
                 (x * weights + biases); "down" convs are stride 2, VALID
  residual     = relu(conv2(relu(conv1(x))) + x)
  residualDown = relu(conv2(relu(convDown1(x))) + shortcut), where
                 shortcut = AvgPool2x2/2 VALID(x), channels zero-padded when
                 they double; if the main branch came out one row/column
                 smaller than the shortcut it gets a zero row at the bottom
                 and a zero column at the right (face-api concatenates zeros)
  net          = convDown 7x7/2 (32) -> MaxPool 3/2 VALID -> 3 x res32 ->
                 down64 + 3 x res64 -> down128 + 2 x res128 -> down256 +
                 2 x res256 -> down256_out -> mean over H,W -> MatMul fc
                 [256,128] (no bias)

Input "input" [N,150,150,3] float32 NHWC RGB, already normalised as face-api
does: (pixel - [122.782, 117.001, 104.298]) / 255 per channel, on a square,
centred, zero-padded face crop resized to 150x150.  Output "descriptor"
[N,128]: not normalised; compare with Euclidean distance (dlib uses 0.6).
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnxgraph  # noqa: E402
from onnxgraph import ConversionError, Graph  # noqa: E402
from tfjs2onnx import load_weights  # noqa: E402

INPUT_SIZE = 150
MEAN_RGB = (122.782, 117.001, 104.298)


class ResnetBuilder:
    def __init__(self, weights):
        self.w = weights
        self.g = Graph("faceapi_dlib_resnet34")

    def weight(self, name):
        if name not in self.w:
            raise ConversionError("weights manifest lacks %s" % name)
        return self.w[name].astype(np.float32)

    def conv(self, x, hw, prefix, stride, relu, valid):
        """conv + bias + scale (+ relu); returns (value, output size)."""
        g = self.g
        f = self.weight(prefix + "/conv/filters")  # HWIO
        k = f.shape[0]
        if f.shape[0] != f.shape[1]:
            raise ConversionError("%s: non-square kernel" % prefix)
        if valid:
            pads = [0, 0, 0, 0]
        else:
            t, b = onnxgraph.same_pads(hw, k, stride, 1)
            pads = [t, t, b, b]
        y = g.node("Conv", [x, g.const(f.transpose(3, 2, 0, 1), prefix + "/conv/filters"),
                            g.const(self.weight(prefix + "/conv/bias"), prefix + "/conv/bias")],
                   hint=prefix + "/conv", kernel_shape=[k, k], strides=[stride, stride],
                   pads=pads)
        c = f.shape[3]
        s = self.weight(prefix + "/scale/weights").reshape(1, c, 1, 1)
        b = self.weight(prefix + "/scale/biases").reshape(1, c, 1, 1)
        y = g.node("Mul", [y, g.const(s, prefix + "/scale/weights")], hint=prefix + "/scale_mul")
        y = g.node("Add", [y, g.const(b, prefix + "/scale/biases")], hint=prefix + "/scale_add")
        if relu:
            y = g.node("Relu", [y], hint=prefix + "/relu")
        out = (hw + pads[0] + pads[2] - k) // stride + 1
        return y, out

    def residual(self, x, hw, prefix):
        y, _ = self.conv(x, hw, prefix + "/conv1", 1, True, False)
        y, _ = self.conv(y, hw, prefix + "/conv2", 1, False, False)
        y = self.g.node("Add", [y, x], hint=prefix + "/add")
        return self.g.node("Relu", [y], hint=prefix + "/out"), hw

    def residual_down(self, x, hw, cin, prefix):
        g = self.g
        y, h1 = self.conv(x, hw, prefix + "/conv1", 2, True, True)
        y, h2 = self.conv(y, h1, prefix + "/conv2", 1, False, False)
        cout = self.w[prefix + "/conv2/conv/filters"].shape[3]
        pooled = g.node("AveragePool", [x], hint=prefix + "/pool", kernel_shape=[2, 2],
                        strides=[2, 2])
        hp = (hw - 2) // 2 + 1
        if hp != h2:
            if hp != h2 + 1:
                raise ConversionError("%s: shortcut %d vs branch %d" % (prefix, hp, h2))
            pads = np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64)
            y = g.node("Pad", [y, g.const(pads, "pad_hw")], hint=prefix + "/pad_hw")
        if cout != cin:
            if cout != 2 * cin:
                raise ConversionError("%s: channels %d -> %d" % (prefix, cin, cout))
            pads = np.array([0, 0, 0, 0, 0, cout - cin, 0, 0], np.int64)
            pooled = g.node("Pad", [pooled, g.const(pads, "pad_c")], hint=prefix + "/pad_c")
        y = g.node("Add", [pooled, y], hint=prefix + "/add")
        return g.node("Relu", [y], hint=prefix + "/out"), hp, cout

    def build(self, metadata=None):
        g = self.g
        g.reserve("input")
        g.reserve("descriptor")
        g.add_input("input", ["N", INPUT_SIZE, INPUT_SIZE, 3])
        x = g.node("Transpose", ["input"], hint="input_nchw", perm=[0, 3, 1, 2])
        x, hw = self.conv(x, INPUT_SIZE, "conv32_down", 2, True, True)
        x = g.node("MaxPool", [x], hint="pool", kernel_shape=[3, 3], strides=[2, 2])
        hw = (hw - 3) // 2 + 1
        c = 32
        for stage, blocks in ((32, ("conv32_1", "conv32_2", "conv32_3")),
                              (64, ("conv64_down", "conv64_1", "conv64_2", "conv64_3")),
                              (128, ("conv128_down", "conv128_1", "conv128_2")),
                              (256, ("conv256_down", "conv256_1", "conv256_2",
                                     "conv256_down_out"))):
            for name in blocks:
                if name.endswith("down") or name.endswith("down_out"):
                    x, hw, c = self.residual_down(x, hw, c, name)
                else:
                    x, hw = self.residual(x, hw, name)
        if c != 256:
            raise ConversionError("unexpected final channel count %d" % c)
        x = g.node("ReduceMean", [x], hint="global_mean", axes=[2, 3], keepdims=0)
        fc = self.weight("fc")
        if fc.shape != (256, 128):
            raise ConversionError("fc has shape %s, expected (256, 128)" % (fc.shape,))
        g.node("MatMul", [x, g.const(fc, "fc")], outputs=["descriptor"])
        g.add_output("descriptor", ["N", 128])
        meta = {"converter": "faceapi_resnet"}
        meta.update(metadata or {})
        return g.build(doc="dlib ResNet-34 face descriptor rebuilt from face-api weights",
                       metadata=meta)


def convert(manifest, read_file, metadata=None):
    """manifest: parsed weights manifest (list); read_file(path) -> shard bytes."""
    weights = load_weights(manifest, read_file)
    return ResnetBuilder(weights).build(metadata)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build face-api's dlib ResNet-34 as ONNX.")
    ap.add_argument("manifest", help="face_recognition_model-weights_manifest.json")
    ap.add_argument("output")
    args = ap.parse_args(argv)
    folder = os.path.dirname(os.path.abspath(args.manifest))

    def read_file(p):
        with open(os.path.join(folder, p), "rb") as f:
            return f.read()

    try:
        with open(args.manifest, encoding="utf-8") as f:
            manifest = json.load(f)
        m = convert(manifest, read_file)
    except (ConversionError, OSError, ValueError, KeyError) as e:
        print("faceapi_resnet: %s: %s" % (args.manifest, e), file=sys.stderr)
        return 1
    blob = onnxgraph.model_bytes(m)
    onnxgraph.write_atomic(args.output, blob)
    print("faceapi_resnet: wrote %s (%d bytes, %d nodes, sha256 %s)" % (
        args.output, len(blob), len(m.graph.node), onnxgraph.sha256_bytes(blob)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
