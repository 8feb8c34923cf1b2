#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Convert a float TFLite model to ONNX (IR 7, opset 13).

Usage:
    tflite2onnx.py IN.tflite OUT.onnx [--static-batch] [--dynamic-hw]
                   [--hw-names H,W] [--prelu-form relu_min|prelu]
                   [--no-prelu-peephole]

Layout strategy: every tensor keeps its TFLite (NHWC) meaning.  Only the
layout-sensitive ops (Conv, pooling, Resize) are wrapped in
Transpose(NHWC->NCHW) ... Transpose(NCHW->NHWC); ONNX Runtime's optimizer
removes the back-to-back pairs, so the wrappers cost nothing at run time.
Axis-carrying ops (Concat, Reshape, Pad, reductions, PRelu slopes) then need
no rewriting.

Other conversions:
  * float16 weights behind DEQUANTIZE are folded to float32 initializers;
    quantized (int8/uint8) graphs, sparse tensors and custom ops are refused;
  * fused activations (RELU, RELU6, RELU_N1_TO_1, TANH) become a node after
    the op;
  * TF SAME padding becomes explicit pads (or auto_pad=SAME_UPPER when the
    spatial size is dynamic and the padding is not zero);
  * dynamic batch (default): the input's first dimension becomes "N" and
    reshapes copy the batch from their input (ONNX Reshape 0);
  * --dynamic-hw additionally makes H and W of a 4-D input symbolic (MTCNN
    p-net is fully convolutional);
  * the PReLU peephole (default) recognises relu(x) + a*(x - |x|)
    (MobileFaceNet; slope 2a) and relu(x) + a*(-relu(-x)) (MTCNN; slope a);
  * every PReLU (TFLite PRELU ops and the recognised patterns) is emitted as
    relu(x) + slope*min(x, 0) by default (--prelu-form relu_min) or as one
    PRelu node (--prelu-form prelu).  All forms give bit-identical values;
    ONNX Runtime 1.29's CPU PRelu kernel is several times slower than the
    four elementwise kernels (MobileFaceNet batch 2: 23 ms vs 14-15 ms,
    face_landmark: 4.1 ms vs 2.1 ms, one thread), hence the default.
"""

import argparse
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnxgraph  # noqa: E402
from onnxgraph import ConversionError, Graph  # noqa: E402

# ---------------------------------------------------------------------------
# FlatBuffer access (just what the TFLite schema needs)
# ---------------------------------------------------------------------------


class FbTable:
    """A FlatBuffer table at `pos` in `buf`; fields are addressed by slot index."""

    __slots__ = ("buf", "pos", "_vt", "_vtlen")

    def __init__(self, buf, pos):
        self.buf = buf
        self.pos = pos
        if pos < 0 or pos + 4 > len(buf):
            raise ConversionError("flatbuffer: table offset %d out of range" % pos)
        self._vt = pos - struct.unpack_from("<i", buf, pos)[0]
        if self._vt < 0 or self._vt + 4 > len(buf):
            raise ConversionError("flatbuffer: vtable offset out of range")
        self._vtlen = struct.unpack_from("<H", buf, self._vt)[0]

    def _field(self, slot):
        entry = 4 + 2 * slot
        if entry + 2 > self._vtlen:
            return None
        off = struct.unpack_from("<H", self.buf, self._vt + entry)[0]
        return None if off == 0 else self.pos + off

    def scalar(self, slot, fmt, default=0):
        p = self._field(slot)
        return default if p is None else struct.unpack_from("<" + fmt, self.buf, p)[0]

    def _deref(self, slot):
        p = self._field(slot)
        if p is None:
            return None
        target = p + struct.unpack_from("<I", self.buf, p)[0]
        if target + 4 > len(self.buf):
            raise ConversionError("flatbuffer: reference out of range")
        return target

    def table(self, slot):
        p = self._deref(slot)
        return None if p is None else FbTable(self.buf, p)

    def _vector(self, slot):
        p = self._deref(slot)
        if p is None:
            return None, 0
        n = struct.unpack_from("<I", self.buf, p)[0]
        return p + 4, n

    def string(self, slot):
        start, n = self._vector(slot)
        if start is None:
            return None
        return bytes(self.buf[start:start + n]).decode("utf-8", "replace")

    def scalars(self, slot, fmt):
        start, n = self._vector(slot)
        if start is None:
            return []
        size = struct.calcsize("<" + fmt)
        if start + n * size > len(self.buf):
            raise ConversionError("flatbuffer: vector out of range")
        return list(struct.unpack_from("<%d%s" % (n, fmt), self.buf, start))

    def raw(self, slot):
        start, n = self._vector(slot)
        if start is None:
            return None
        if start + n > len(self.buf):
            raise ConversionError("flatbuffer: byte vector out of range")
        return self.buf[start:start + n]

    def tables(self, slot):
        start, n = self._vector(slot)
        if start is None:
            return []
        res = []
        for i in range(n):
            q = start + 4 * i
            res.append(FbTable(self.buf, q + struct.unpack_from("<I", self.buf, q)[0]))
        return res


# ---------------------------------------------------------------------------
# TFLite schema subset (tensorflow/lite/schema/schema.fbs, version 3)
# ---------------------------------------------------------------------------

BUILTIN = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 14: "LOGISTIC", 17: "MAX_POOL_2D", 18: "MUL",
    19: "RELU", 20: "RELU_N1_TO_1", 21: "RELU6", 22: "RESHAPE", 23: "RESIZE_BILINEAR",
    25: "SOFTMAX", 28: "TANH", 32: "CUSTOM", 34: "PAD", 40: "MEAN", 41: "SUB", 42: "DIV",
    47: "EXP", 54: "PRELU", 59: "NEG", 60: "PADV2", 74: "SUM", 82: "REDUCE_MAX", 101: "ABS",
    # recognised only to give a clear error message
    5: "DEPTH_TO_SPACE", 45: "STRIDED_SLICE", 98: "LEAKY_RELU", 114: "QUANTIZE", 124: "DENSIFY",
}
TENSOR_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8,
                6: np.bool_, 7: np.int16, 10: np.float64}
ACTIVATIONS = {0: None, 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
PADDINGS = {0: "SAME", 1: "VALID"}


class TfTensor:
    def __init__(self, index, name, shape, dtype, buffer, quantized, sparse):
        self.index = index
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.buffer = buffer
        self.quantized = quantized
        self.sparse = sparse


class TfOp:
    def __init__(self, kind, inputs, outputs, opts, custom=None):
        self.kind = kind
        self.inputs = inputs
        self.outputs = outputs
        self.opts = opts
        self.custom = custom


def _options(kind, t):
    """Decodes the builtin options table of one operator into a dict."""
    if t is None:
        return {}
    if kind == "CONV_2D":
        return dict(padding=PADDINGS[t.scalar(0, "b")], stride_w=t.scalar(1, "i", 1),
                    stride_h=t.scalar(2, "i", 1), act=ACTIVATIONS[t.scalar(3, "b")],
                    dil_w=t.scalar(4, "i", 1), dil_h=t.scalar(5, "i", 1))
    if kind == "DEPTHWISE_CONV_2D":
        return dict(padding=PADDINGS[t.scalar(0, "b")], stride_w=t.scalar(1, "i", 1),
                    stride_h=t.scalar(2, "i", 1), multiplier=t.scalar(3, "i", 1),
                    act=ACTIVATIONS[t.scalar(4, "b")], dil_w=t.scalar(5, "i", 1),
                    dil_h=t.scalar(6, "i", 1))
    if kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        return dict(padding=PADDINGS[t.scalar(0, "b")], stride_w=t.scalar(1, "i", 1),
                    stride_h=t.scalar(2, "i", 1), filter_w=t.scalar(3, "i", 1),
                    filter_h=t.scalar(4, "i", 1), act=ACTIVATIONS[t.scalar(5, "b")])
    if kind in ("ADD", "MUL", "SUB", "DIV"):
        return dict(act=ACTIVATIONS[t.scalar(0, "b")])
    if kind == "FULLY_CONNECTED":
        return dict(act=ACTIVATIONS[t.scalar(0, "b")], weights_format=t.scalar(1, "b"),
                    keep_num_dims=bool(t.scalar(2, "B")))
    if kind == "CONCATENATION":
        return dict(axis=t.scalar(0, "i"), act=ACTIVATIONS[t.scalar(1, "b")])
    if kind == "RESHAPE":
        return dict(new_shape=t.scalars(0, "i"))
    if kind == "RESIZE_BILINEAR":
        return dict(align_corners=bool(t.scalar(2, "B")), half_pixel=bool(t.scalar(3, "B")))
    if kind in ("MEAN", "SUM", "REDUCE_MAX"):
        return dict(keep_dims=bool(t.scalar(0, "B")))
    if kind == "SOFTMAX":
        return dict(beta=t.scalar(0, "f", 0.0))
    return {}


class TfliteModel:
    """The parts of a .tflite file the converter uses (first subgraph only)."""

    def __init__(self, data):
        if len(data) < 8 or bytes(data[4:8]) != b"TFL3":
            raise ConversionError("not a TFLite flatbuffer (no TFL3 identifier)")
        self.data = data
        root = FbTable(data, struct.unpack_from("<I", data, 0)[0])
        self.schema_version = root.scalar(0, "I")
        self.description = root.string(3) or ""
        opcodes = []
        for oc in root.tables(1):
            code = max(oc.scalar(0, "b"), oc.scalar(3, "i"))
            opcodes.append((code, oc.string(1)))
        self.buffers = []
        for b in root.tables(4):
            raw = b.raw(0)
            if raw is None:
                off, size = b.scalar(1, "Q"), b.scalar(2, "Q")
                raw = data[off:off + size] if off > 1 else b""
            self.buffers.append(bytes(raw))
        subgraphs = root.tables(2)
        if not subgraphs:
            raise ConversionError("model has no subgraph")
        if len(subgraphs) > 1:
            raise ConversionError("models with %d subgraphs are not supported" % len(subgraphs))
        sg = subgraphs[0]
        self.tensors = []
        for i, t in enumerate(sg.tables(0)):
            type_code = t.scalar(1, "b")
            if type_code not in TENSOR_TYPES:
                raise ConversionError("tensor %d has unsupported type code %d" % (i, type_code))
            q = t.table(4)
            quantized = q is not None and bool(q.scalars(2, "f"))
            self.tensors.append(TfTensor(i, t.string(3) or "t%d" % i, t.scalars(0, "i"),
                                         np.dtype(TENSOR_TYPES[type_code]), t.scalar(2, "I"),
                                         quantized, t.table(6) is not None))
        self.inputs = sg.scalars(1, "i")
        self.outputs = sg.scalars(2, "i")
        self.ops = []
        for o in sg.tables(3):
            code, custom = opcodes[o.scalar(0, "I")]
            kind = BUILTIN.get(code, "BUILTIN_%d" % code)
            self.ops.append(TfOp(kind, o.scalars(1, "i"), o.scalars(2, "i"),
                                 _options(kind, o.table(4)), custom))

    def constant(self, index):
        """The tensor's data as a numpy array, or None if it has no buffer."""
        t = self.tensors[index]
        raw = self.buffers[t.buffer] if t.buffer < len(self.buffers) else b""
        if not raw:
            return None
        arr = np.frombuffer(raw, dtype=t.dtype.newbyteorder("<"))
        count = int(np.prod(t.shape)) if t.shape else 1
        if arr.size != count:
            raise ConversionError("tensor %s: buffer holds %d values, shape %s needs %d"
                                  % (t.name, arr.size, t.shape, count))
        return arr.reshape(t.shape).astype(t.dtype.newbyteorder("="))


# ---------------------------------------------------------------------------
# PReLU peephole
# ---------------------------------------------------------------------------


def _find_prelus(model, consts):
    """Finds decomposed PReLUs.  Returns {add_op_index: (x, slope, removed op indices)}."""
    producer = {}
    consumers = {}
    for i, op in enumerate(model.ops):
        for t in op.outputs:
            producer[t] = i
        for t in op.inputs:
            consumers.setdefault(t, []).append(i)
    graph_outputs = set(model.outputs)

    def single_use(t):
        return len(consumers.get(t, [])) == 1 and t not in graph_outputs

    def prod(t, kind):
        i = producer.get(t)
        if i is None:
            return None
        op = model.ops[i]
        if op.kind != kind or op.opts.get("act"):
            return None
        return i

    found = {}
    for ai, add in enumerate(model.ops):
        if add.kind != "ADD" or add.opts.get("act") or len(add.inputs) != 2:
            continue
        for relu_t, mul_t in (add.inputs, add.inputs[::-1]):
            ri, mi = prod(relu_t, "RELU"), prod(mul_t, "MUL")
            if ri is None or mi is None or not (single_use(relu_t) and single_use(mul_t)):
                continue
            x = model.ops[ri].inputs[0]
            mul = model.ops[mi]
            if mul.inputs[0] in consts:
                alpha_t, other = mul.inputs
            elif mul.inputs[1] in consts:
                other, alpha_t = mul.inputs
            else:
                continue
            alpha = consts[alpha_t].astype(np.float32)
            if not single_use(other):
                continue
            # form 1: relu(x) + a * (x - |x|)  ->  PRelu(x, 2a)
            si = prod(other, "SUB")
            if si is not None:
                sub = model.ops[si]
                bi = prod(sub.inputs[1], "ABS")
                if (sub.inputs[0] == x and bi is not None and model.ops[bi].inputs[0] == x
                        and single_use(sub.inputs[1])):
                    found[ai] = (x, alpha * np.float32(2.0), {ri, mi, si, bi})
                    break
            # form 2: relu(x) + a * (-relu(-x))  ->  PRelu(x, a)
            n1 = prod(other, "NEG")
            if n1 is not None:
                r2 = prod(model.ops[n1].inputs[0], "RELU")
                if r2 is not None and single_use(model.ops[n1].inputs[0]):
                    n2 = prod(model.ops[r2].inputs[0], "NEG")
                    if (n2 is not None and model.ops[n2].inputs[0] == x
                            and single_use(model.ops[r2].inputs[0])):
                        found[ai] = (x, alpha, {ri, mi, n1, r2, n2})
                        break
    return found


# ---------------------------------------------------------------------------
# Converter
# ---------------------------------------------------------------------------


class Converter:
    def __init__(self, model, dynamic_batch=True, dynamic_hw=False, prelu_peephole=True,
                 hw_names=("H", "W"), prelu_form="relu_min"):
        if prelu_form not in onnxgraph.PRELU_FORMS:
            raise ConversionError("prelu_form must be one of %s" % (onnxgraph.PRELU_FORMS,))
        self.m = model
        self.prelu_form = prelu_form
        self.hw_names = tuple(hw_names)
        self.dynamic_batch = dynamic_batch
        self.dynamic_hw = dynamic_hw
        self.prelu_peephole = prelu_peephole
        self.g = Graph("tflite")
        self.consts = {}  # tensor index -> numpy (folded)
        self.names = {}  # tensor index -> ONNX value name (dynamic values)
        self.const_names = {}  # tensor index -> initializer name
        self.nchw_cache = {}  # ONNX value name -> its NCHW transpose

    # -- values --------------------------------------------------------------
    def t(self, i):
        return self.m.tensors[i]

    def value(self, i):
        """ONNX name for tensor i (emits an initializer for constants)."""
        if i in self.names:
            return self.names[i]
        if i in self.consts:
            if i not in self.const_names:
                self.const_names[i] = self.g.const(self.consts[i], self.t(i).name)
            return self.const_names[i]
        raise ConversionError("tensor %s is used before it is produced" % self.t(i).name)

    def out_name(self, i):
        """Name for the value an op produces into tensor i."""
        if i in self.names:
            raise ConversionError("tensor %s produced twice" % self.t(i).name)
        if i in self.m.outputs:
            name = self.t(i).name  # reserved up front
        else:
            name = self.g.fresh(self.t(i).name)
        self.names[i] = name
        return name

    def const_of(self, i, what):
        if i not in self.consts:
            raise ConversionError("%s must be a constant (tensor %s)" % (what, self.t(i).name))
        return self.consts[i]

    def nchw(self, name):
        if name not in self.nchw_cache:
            self.nchw_cache[name] = self.g.node("Transpose", [name], hint=name + "_nchw",
                                                perm=[0, 3, 1, 2])
        return self.nchw_cache[name]

    def activation(self, x, act, final):
        """Applies a fused activation; writes the result to the name `final`."""
        g = self.g
        if act is None:
            g.node("Identity", [x], outputs=[final])
        elif act == "RELU":
            g.node("Relu", [x], outputs=[final])
        elif act == "RELU6":
            g.node("Clip", [x, g.const(np.float32(0), "zero"), g.const(np.float32(6), "six")],
                   outputs=[final])
        elif act == "RELU_N1_TO_1":
            g.node("Clip", [x, g.const(np.float32(-1), "minus_one"),
                            g.const(np.float32(1), "one")], outputs=[final])
        elif act == "TANH":
            g.node("Tanh", [x], outputs=[final])
        else:
            raise ConversionError("fused activation %s is not supported" % act)

    def finish(self, y, act, out_index):
        """Routes `y` to the op's output tensor, with the fused activation."""
        final = self.out_name(out_index)
        last = self.g.nodes[-1] if self.g.nodes else None
        if act is None and last is not None and list(last.output) == [y]:
            last.output[0] = final  # no activation: the producing node writes it directly
            return
        self.activation(y, act, final)

    def spatial_pads(self, in_shape, kh, kw, sh, sw, dh, dw, padding):
        """Returns (pads, auto_pad) for a NHWC input of static shape in_shape."""
        if padding == "VALID":
            return [0, 0, 0, 0], None
        if self.dynamic_hw:
            if kh == 1 and kw == 1 and sh == 1 and sw == 1:
                return [0, 0, 0, 0], None
            return None, "SAME_UPPER"
        t, b = onnxgraph.same_pads(in_shape[1], kh, sh, dh)
        left, r = onnxgraph.same_pads(in_shape[2], kw, sw, dw)
        return [t, left, b, r], None

    # -- ops -----------------------------------------------------------------
    def op_conv(self, op):
        o = op.opts
        x_i, w_i = op.inputs[0], op.inputs[1]
        w = self.const_of(w_i, "conv weights").astype(np.float32)
        in_shape = self.t(x_i).shape
        if op.kind == "CONV_2D":
            weight = w.transpose(0, 3, 1, 2)  # [O,kh,kw,I] -> [O,I,kh,kw]
            group = 1
            if weight.shape[1] != in_shape[3]:
                raise ConversionError("grouped CONV_2D is not supported")
        else:
            cin = in_shape[3]
            if w.shape[3] != cin * o["multiplier"]:
                raise ConversionError("depthwise weights %s do not match %d channels x %d"
                                      % (w.shape, cin, o["multiplier"]))
            weight = w.transpose(3, 0, 1, 2)  # [1,kh,kw,C*m] -> [C*m,1,kh,kw]
            group = cin
        kh, kw = weight.shape[2], weight.shape[3]
        pads, auto = self.spatial_pads(in_shape, kh, kw, o["stride_h"], o["stride_w"],
                                       o["dil_h"], o["dil_w"], o["padding"])
        g = self.g
        ins = [self.nchw(self.value(x_i)), g.const(weight, self.t(w_i).name)]
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            bias = self.const_of(op.inputs[2], "conv bias").astype(np.float32)
            ins.append(g.const(bias, self.t(op.inputs[2]).name))
        attrs = dict(kernel_shape=[kh, kw], strides=[o["stride_h"], o["stride_w"]],
                     dilations=[o["dil_h"], o["dil_w"]], group=group)
        if auto:
            attrs["auto_pad"] = auto
        else:
            attrs["pads"] = pads
        y = g.node("Conv", ins, hint=self.t(op.outputs[0]).name + "_nchw", **attrs)
        y = g.node("Transpose", [y], hint=self.t(op.outputs[0]).name + "_nhwc", perm=[0, 2, 3, 1])
        self.finish(y, o["act"], op.outputs[0])

    def op_pool(self, op):
        o = op.opts
        x_i = op.inputs[0]
        kh, kw, sh, sw = o["filter_h"], o["filter_w"], o["stride_h"], o["stride_w"]
        pads, auto = self.spatial_pads(self.t(x_i).shape, kh, kw, sh, sw, 1, 1, o["padding"])
        attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw])
        if auto:
            attrs["auto_pad"] = auto
        else:
            attrs["pads"] = pads
        onnx_op = "MaxPool" if op.kind == "MAX_POOL_2D" else "AveragePool"
        # AveragePool: count_include_pad=0 (the default) matches TF's SAME.
        y = self.g.node(onnx_op, [self.nchw(self.value(x_i))],
                        hint=self.t(op.outputs[0]).name + "_nchw", **attrs)
        y = self.g.node("Transpose", [y], hint=self.t(op.outputs[0]).name + "_nhwc",
                        perm=[0, 2, 3, 1])
        self.finish(y, o["act"], op.outputs[0])

    def op_binary(self, op):
        onnx_op = {"ADD": "Add", "SUB": "Sub", "MUL": "Mul", "DIV": "Div"}[op.kind]
        a, b = (self.value(i) for i in op.inputs)
        act = op.opts.get("act")
        if act is None:
            self.g.node(onnx_op, [a, b], outputs=[self.out_name(op.outputs[0])])
        else:
            y = self.g.node(onnx_op, [a, b], hint=self.t(op.outputs[0]).name + "_pre")
            self.finish(y, act, op.outputs[0])

    def op_unary(self, op):
        onnx_op = {"RELU": "Relu", "LOGISTIC": "Sigmoid", "TANH": "Tanh", "ABS": "Abs",
                   "EXP": "Exp", "NEG": "Neg"}.get(op.kind)
        x = self.value(op.inputs[0])
        if onnx_op is not None:
            self.g.node(onnx_op, [x], outputs=[self.out_name(op.outputs[0])])
        else:  # RELU6, RELU_N1_TO_1: clip forms
            self.activation(x, op.kind, self.out_name(op.outputs[0]))

    def op_prelu(self, op):
        alpha = self.const_of(op.inputs[1], "PRELU alpha").astype(np.float32)
        self.emit_prelu(op.inputs[0], alpha, op.outputs[0], self.t(op.inputs[1]).name)

    def emit_prelu(self, x_i, slope, out_i, hint):
        x_rank = len(self.t(x_i).shape)
        if slope.ndim > x_rank:
            slope = slope.reshape(slope.shape[-x_rank:])
        onnxgraph.emit_prelu(self.g, self.value(x_i), slope, self.out_name(out_i),
                             self.prelu_form, hint)

    def op_pad(self, op):
        p = self.const_of(op.inputs[1], "PAD paddings").astype(np.int64)
        pads = np.concatenate([p[:, 0], p[:, 1]])
        ins = [self.value(op.inputs[0]), self.g.const(pads, "pads")]
        if op.kind == "PADV2" and len(op.inputs) > 2:
            v = self.const_of(op.inputs[2], "PADV2 value").astype(np.float32).reshape(())
            ins.append(self.g.const(v, "pad_value"))
        self.g.node("Pad", ins, outputs=[self.out_name(op.outputs[0])], mode="constant")

    def batch_reshape_target(self, in_shape, out_shape):
        target = list(out_shape)
        if (self.dynamic_batch and in_shape and target and in_shape[0] == target[0]
                and in_shape[0] == self.batch):
            target[0] = 0  # ONNX Reshape: copy the (dynamic) batch from the input
        return target

    def op_reshape(self, op):
        in_shape = self.t(op.inputs[0]).shape
        out_shape = self.t(op.outputs[0]).shape
        if self.dynamic_hw:
            raise ConversionError("RESHAPE with --dynamic-hw is not supported")
        target = self.batch_reshape_target(in_shape, out_shape)
        self.g.node("Reshape", [self.value(op.inputs[0]),
                                self.g.const(np.array(target, np.int64), "shape")],
                    outputs=[self.out_name(op.outputs[0])])

    def op_concat(self, op):
        rank = len(self.t(op.outputs[0]).shape)
        axis = op.opts["axis"] % rank
        y = self.g.node("Concat", [self.value(i) for i in op.inputs],
                        hint=self.t(op.outputs[0]).name + "_pre", axis=axis)
        self.finish(y, op.opts["act"], op.outputs[0])

    def op_resize(self, op):
        o = op.opts
        size = [int(v) for v in self.const_of(op.inputs[1], "RESIZE size")]
        in_shape = self.t(op.inputs[0]).shape
        if o["half_pixel"]:
            mode = "half_pixel"
        elif o["align_corners"]:
            mode = "align_corners"
        else:
            mode = "asymmetric"
        g = self.g
        x = self.nchw(self.value(op.inputs[0]))
        if self.dynamic_batch or self.dynamic_hw:
            if self.dynamic_hw:
                raise ConversionError("RESIZE_BILINEAR with --dynamic-hw is not supported")
            scales = np.array([1.0, 1.0, size[0] / in_shape[1], size[1] / in_shape[2]],
                              np.float32)
            if any(int(s * n) != m for s, n, m in zip(scales[2:], in_shape[1:3], size)):
                raise ConversionError("RESIZE %s -> %s is not an exact scale" % (in_shape, size))
            ins = [x, "", g.const(scales, "scales")]
        else:
            sizes = np.array([in_shape[0], in_shape[3], size[0], size[1]], np.int64)
            ins = [x, "", "", g.const(sizes, "sizes")]
        y = g.node("Resize", ins, hint=self.t(op.outputs[0]).name + "_nchw", mode="linear",
                   coordinate_transformation_mode=mode)
        g.node("Transpose", [y], outputs=[self.out_name(op.outputs[0])], perm=[0, 2, 3, 1])

    def op_fully_connected(self, op):
        o = op.opts
        if o["weights_format"] != 0:
            raise ConversionError("FULLY_CONNECTED with shuffled weights is not supported")
        if o["keep_num_dims"]:
            raise ConversionError("FULLY_CONNECTED keep_num_dims is not supported")
        w = self.const_of(op.inputs[1], "FULLY_CONNECTED weights").astype(np.float32)
        g = self.g
        x = self.value(op.inputs[0])
        if len(self.t(op.inputs[0]).shape) != 2:
            x = g.node("Reshape", [x, g.const(np.array([-1, w.shape[1]], np.int64), "flat")],
                       hint=self.t(op.inputs[0]).name + "_flat")
        ins = [x, g.const(w, self.t(op.inputs[1]).name)]
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = self.const_of(op.inputs[2], "FULLY_CONNECTED bias").astype(np.float32)
            ins.append(g.const(b, self.t(op.inputs[2]).name))
        y = g.node("Gemm", ins, hint=self.t(op.outputs[0]).name + "_pre", transB=1)
        self.finish(y, o["act"], op.outputs[0])

    def op_reduce(self, op):
        axes = [int(a) for a in np.atleast_1d(self.const_of(op.inputs[1], "reduction axes"))]
        rank = len(self.t(op.inputs[0]).shape)
        axes = sorted(a % rank for a in axes)
        keep = 1 if op.opts.get("keep_dims") else 0
        x = self.value(op.inputs[0])
        out = [self.out_name(op.outputs[0])]
        if op.kind == "SUM":  # opset 13: ReduceSum takes axes as an input
            self.g.node("ReduceSum", [x, self.g.const(np.array(axes, np.int64), "axes")],
                        outputs=out, keepdims=keep)
        else:
            onnx_op = "ReduceMax" if op.kind == "REDUCE_MAX" else "ReduceMean"
            self.g.node(onnx_op, [x], outputs=out, axes=axes, keepdims=keep)

    def op_softmax(self, op):
        beta = op.opts.get("beta", 1.0)
        x = self.value(op.inputs[0])
        if beta != 1.0:
            x = self.g.node("Mul", [x, self.g.const(np.float32(beta), "beta")])
        self.g.node("Softmax", [x], outputs=[self.out_name(op.outputs[0])], axis=-1)

    # -- driver --------------------------------------------------------------
    def run(self):
        m = self.m
        for t in m.tensors:
            if t.sparse:
                raise ConversionError("sparse tensor %s: sparse models are not supported" % t.name)
        for i, t in enumerate(m.tensors):
            arr = m.constant(i)
            if arr is not None:
                self.consts[i] = arr
        if len(m.inputs) != 1:
            raise ConversionError("only single-input models are supported")
        in_t = self.t(m.inputs[0])
        if in_t.dtype != np.float32 or in_t.quantized:
            raise ConversionError("input %s is %s; only float32 models are supported"
                                  % (in_t.name, in_t.dtype))
        self.batch = in_t.shape[0]
        for i in m.outputs:
            self.g.reserve(self.t(i).name)
        self.g.reserve(in_t.name)
        self.names[m.inputs[0]] = in_t.name

        fused = _find_prelus(m, self.consts) if self.prelu_peephole else {}
        skipped = set()
        for _, (_, _, removed) in fused.items():
            skipped |= removed
        handlers = {
            "CONV_2D": self.op_conv, "DEPTHWISE_CONV_2D": self.op_conv,
            "MAX_POOL_2D": self.op_pool, "AVERAGE_POOL_2D": self.op_pool,
            "ADD": self.op_binary, "SUB": self.op_binary, "MUL": self.op_binary,
            "DIV": self.op_binary, "RELU": self.op_unary, "RELU6": self.op_unary,
            "RELU_N1_TO_1": self.op_unary, "LOGISTIC": self.op_unary, "TANH": self.op_unary,
            "ABS": self.op_unary, "EXP": self.op_unary, "NEG": self.op_unary,
            "PRELU": self.op_prelu, "PAD": self.op_pad, "PADV2": self.op_pad,
            "RESHAPE": self.op_reshape, "CONCATENATION": self.op_concat,
            "RESIZE_BILINEAR": self.op_resize, "FULLY_CONNECTED": self.op_fully_connected,
            "SUM": self.op_reduce, "REDUCE_MAX": self.op_reduce, "MEAN": self.op_reduce,
            "SOFTMAX": self.op_softmax,
        }
        for idx, op in enumerate(m.ops):
            if idx in skipped:
                continue
            if idx in fused:
                x, slope, _ = fused[idx]
                self.emit_prelu(x, slope, op.outputs[0], self.t(x).name + "_slope")
                continue
            if op.kind == "DEQUANTIZE":
                src = op.inputs[0]
                if src in self.consts and self.t(src).dtype == np.float16:
                    self.consts[op.outputs[0]] = self.consts[src].astype(np.float32)
                    continue
                raise ConversionError("DEQUANTIZE of %s (%s): quantized models are not supported"
                                      % (self.t(src).name, self.t(src).dtype))
            if op.kind == "CUSTOM":
                raise ConversionError("custom op %r is not supported" % op.custom)
            for i in op.inputs:
                if i >= 0 and self.t(i).quantized and i not in self.consts:
                    raise ConversionError("quantized tensor %s: only float models are supported"
                                          % self.t(i).name)
            handler = handlers.get(op.kind)
            if handler is None:
                raise ConversionError("TFLite op %s is not supported" % op.kind)
            handler(op)

        g = self.g
        in_shape = list(in_t.shape)
        if self.dynamic_batch:
            in_shape[0] = "N"
        if self.dynamic_hw:
            if len(in_shape) != 4:
                raise ConversionError("--dynamic-hw needs a 4-D input")
            in_shape[1], in_shape[2] = self.hw_names
        g.add_input(in_t.name, in_shape)
        for i in m.outputs:
            t = self.t(i)
            if i not in self.names:
                raise ConversionError("output %s is never produced" % t.name)
            shape = list(t.shape)
            if self.dynamic_batch and shape and shape[0] == self.batch:
                shape[0] = "N"
            if self.dynamic_hw and len(shape) == 4:
                shape[1], shape[2] = (n + "_out" for n in self.hw_names)
            g.add_output(t.name, shape)
        return g


def convert_bytes(data, dynamic_batch=True, dynamic_hw=False, prelu_peephole=True,
                  hw_names=("H", "W"), prelu_form="relu_min", metadata=None, doc=""):
    """Converts TFLite bytes; returns the ONNX ModelProto."""
    model = TfliteModel(memoryview(data))
    conv = Converter(model, dynamic_batch, dynamic_hw, prelu_peephole, hw_names, prelu_form)
    g = conv.run()
    g.name = (model.description or "tflite").replace(" ", "_")[:64]
    meta = {"converter": "tflite2onnx"}
    meta.update(metadata or {})
    return g.build(doc=doc, metadata=meta)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert a float TFLite model to ONNX (opset 13).")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--static-batch", action="store_true",
                    help="keep the batch size stored in the file (default: dynamic 'N')")
    ap.add_argument("--dynamic-hw", action="store_true",
                    help="make the input's H and W symbolic (fully convolutional models)")
    ap.add_argument("--hw-names", default="H,W",
                    help="names of the symbolic spatial dims with --dynamic-hw (default H,W)")
    ap.add_argument("--prelu-form", choices=onnxgraph.PRELU_FORMS, default="relu_min",
                    help="emit PReLUs as relu(x) + a*min(x, 0) (default, faster in ONNX "
                         "Runtime's CPU provider) or as single PRelu nodes")
    ap.add_argument("--no-prelu-peephole", action="store_true",
                    help="keep decomposed PReLUs as Relu/Abs/Sub/Mul/Add")
    args = ap.parse_args(argv)
    with open(args.input, "rb") as f:
        data = f.read()
    try:
        m = convert_bytes(data, not args.static_batch, args.dynamic_hw,
                          not args.no_prelu_peephole, args.hw_names.split(","), args.prelu_form)
    except ConversionError as e:
        print("tflite2onnx: %s: %s" % (args.input, e), file=sys.stderr)
        return 1
    blob = onnxgraph.model_bytes(m)
    onnxgraph.write_atomic(args.output, blob)
    print("tflite2onnx: wrote %s (%d bytes, %d nodes, sha256 %s)" % (
        args.output, len(blob), len(m.graph.node), onnxgraph.sha256_bytes(blob)))
    for name, dims in onnxgraph.value_info_shapes(m.graph.input):
        print("  input  %s %s" % (name, dims))
    for name, dims in onnxgraph.value_info_shapes(m.graph.output):
        print("  output %s %s" % (name, dims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
