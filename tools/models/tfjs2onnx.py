#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Convert a TensorFlow.js graph model (model.json + .bin shards) to ONNX.

Usage:
    tfjs2onnx.py MODEL.json OUT.onnx [--static-batch] [--prelu-form relu_min|prelu]

`modelTopology.node` is a TensorFlow GraphDef in JSON: attribute strings are
base64, integers are strings, and node inputs are "name", "name:1" or "^ctrl"
(control edges are ignored).  Weights come from `weightsManifest`: float32,
int32, float16 (quantization dtype float16) or uint8/uint16 affine
(value = q * scale + min, computed in double and rounded once, like tfjs).

As in tflite2onnx, tensors keep their NHWC meaning and only Conv/pooling
are wrapped in Transposes; Prelu is emitted as in onnxgraph.emit_prelu
(relu(x) + a*min(x, 0) by default).  Supported ops: Placeholder, Const,
Identity, Conv2D, _FusedConv2D and (Fused)DepthwiseConv2dNative with fused
BiasAdd and Relu/Relu6/Prelu/Elu/LeakyRelu, MaxPool, AvgPool,
AddV2/Add/Sub/Mul/RealDiv/Maximum/Minimum/BiasAdd, Relu, Relu6, Sigmoid,
Tanh, Elu, Prelu, LeakyRelu, Exp, Abs, Neg, Square, Sqrt, Rsqrt, Softmax,
Mean/Sum/Max/Min, Reshape, Squeeze, ConcatV2, Pad/PadV2, MatMul and
_FusedMatMul.  Anything else is refused with the op's name.
"""

import argparse
import base64
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnxgraph  # noqa: E402
from onnxgraph import ConversionError, Graph  # noqa: E402
from onnx import TensorProto  # noqa: E402

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QDTYPES = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}


def load_weights(manifest, read_file):
    """Decodes a tfjs weights manifest (list of groups).

    `read_file(path)` returns the bytes of one shard named in a group's
    `paths`.  Returns {name: numpy array} (float32 or int32)."""
    weights = {}
    for group in manifest:
        blob = b"".join(read_file(p) for p in group["paths"])
        off = 0
        for spec in group["weights"]:
            name, dtype = spec["name"], spec["dtype"]
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            q = spec.get("quantization")
            if q:
                qtype = _QDTYPES.get(q["dtype"])
                if qtype is None:
                    raise ConversionError("weight %s: quantization %s is not supported"
                                          % (name, q["dtype"]))
                nbytes = count * np.dtype(qtype).itemsize
                raw = np.frombuffer(blob, dtype=np.dtype(qtype).newbyteorder("<"), count=count,
                                    offset=off)
                if q["dtype"] == "float16":
                    arr = raw.astype(np.float32)
                else:
                    val = raw.astype(np.float64) * float(q["scale"]) + float(q["min"])
                    arr = np.round(val).astype(np.int32) if dtype == "int32" else \
                        val.astype(np.float32)
            else:
                base = _DTYPES.get(dtype)
                if base is None:
                    raise ConversionError("weight %s: dtype %s is not supported" % (name, dtype))
                nbytes = count * np.dtype(base).itemsize
                arr = np.frombuffer(blob, dtype=np.dtype(base).newbyteorder("<"), count=count,
                                    offset=off).astype(base)
            if off + nbytes > len(blob):
                raise ConversionError("weight %s runs past the end of its shards" % name)
            off += nbytes
            weights[name] = arr.reshape(shape)
        if off != len(blob):
            raise ConversionError("weight shards hold %d bytes, the manifest describes %d"
                                  % (len(blob), off))
    return weights


def _attr(node, key, default=None):
    """Decodes one GraphDef attribute from its JSON form."""
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "s" in a:
        return base64.b64decode(a["s"]).decode("utf-8")
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    if "type" in a:
        return a["type"]
    if "shape" in a:
        return a["shape"]
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode("utf-8") for v in lst["s"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        return []
    return default


def _ref(inp):
    """Node-input string -> (node name, output index); None for control inputs."""
    if inp.startswith("^"):
        return None
    name, _, idx = inp.partition(":")
    return name, int(idx) if idx else 0


class TfjsConverter:
    def __init__(self, model_json, weights, dynamic_batch=True, prelu_form="relu_min"):
        if prelu_form not in onnxgraph.PRELU_FORMS:
            raise ConversionError("prelu_form must be one of %s" % (onnxgraph.PRELU_FORMS,))
        self.prelu_form = prelu_form
        self.j = model_json
        self.w = weights
        self.dynamic_batch = dynamic_batch
        self.g = Graph("tfjs")
        self.nodes = {n["name"]: n for n in model_json["modelTopology"]["node"]}
        self.names = {}  # TF node name -> ONNX value name
        self.shapes = {}  # TF node name -> NHWC shape list (-1 = batch)
        self.const_names = {}
        self.nchw_cache = {}
        self.int_values = set()  # TF nodes whose output is an integer tensor (int64 in ONNX)

    # -- helpers -------------------------------------------------------------
    def inputs(self, node):
        res = []
        for i in node.get("input", []):
            r = _ref(i)
            if r is None:
                continue
            if r[1] != 0:
                raise ConversionError("node %s reads output %d of %s; multi-output ops are not "
                                      "supported" % (node["name"], r[1], r[0]))
            res.append(r[0])
        return res

    def is_const(self, name):
        return name in self.w

    def const(self, name, what):
        if name not in self.w:
            raise ConversionError("%s (%s) must be a constant" % (what, name))
        return self.w[name]

    def value(self, name):
        if name in self.names:
            return self.names[name]
        if name in self.w:
            if name not in self.const_names:
                arr = self.w[name]
                if arr.dtype == np.int32:
                    arr = arr.astype(np.int64)
                self.const_names[name] = self.g.const(arr, name)
            return self.const_names[name]
        raise ConversionError("value %s is used before it is produced" % name)

    def is_int(self, name):
        if name in self.w:
            return self.w[name].dtype != np.float32
        return name in self.int_values

    def const_ints(self, name, what):
        return [int(v) for v in np.atleast_1d(self.const(name, what)).reshape(-1)]

    def shape(self, name):
        if name in self.shapes:
            return self.shapes[name]
        if name in self.w:
            return list(self.w[name].shape)
        raise ConversionError("unknown shape for %s" % name)

    def produce(self, node):
        """ONNX name for a TF node's output (graph outputs keep their names)."""
        name = node["name"]
        if name in self.output_names:
            onnx_name = name
        else:
            onnx_name = self.g.fresh(name)
        self.names[name] = onnx_name
        return onnx_name

    def nchw(self, x):
        if x not in self.nchw_cache:
            self.nchw_cache[x] = self.g.node("Transpose", [x], hint=x + "_nchw", perm=[0, 3, 1, 2])
        return self.nchw_cache[x]

    def pads(self, node, in_hw, k, s, d):
        padding = _attr(node, "padding", "VALID")
        if padding == "VALID":
            return [0, 0, 0, 0]
        if padding == "EXPLICIT":
            e = _attr(node, "explicit_paddings", [])
            if len(e) != 8:
                raise ConversionError("%s: bad explicit_paddings" % node["name"])
            return [e[2], e[4], e[3], e[5]]
        if padding != "SAME":
            raise ConversionError("%s: padding %s is not supported" % (node["name"], padding))
        t, b = onnxgraph.same_pads(in_hw[0], k[0], s[0], d[0])
        left, r = onnxgraph.same_pads(in_hw[1], k[1], s[1], d[1])
        return [t, left, b, r]

    def check_nhwc(self, node):
        fmt = _attr(node, "data_format", "NHWC")
        if fmt != "NHWC":
            raise ConversionError("%s: data_format %s is not supported" % (node["name"], fmt))

    def act(self, x, kind, final, alpha_input=None, node=None):
        g = self.g
        if kind is None:
            g.node("Identity", [x], outputs=[final])
        elif kind == "Relu":
            g.node("Relu", [x], outputs=[final])
        elif kind == "Relu6":
            g.node("Clip", [x, g.const(np.float32(0), "zero"), g.const(np.float32(6), "six")],
                   outputs=[final])
        elif kind == "Elu":
            g.node("Elu", [x], outputs=[final], alpha=1.0)
        elif kind == "LeakyRelu":
            g.node("LeakyRelu", [x], outputs=[final], alpha=_attr(node, "leakyrelu_alpha", 0.2))
        elif kind == "Prelu":
            slope = self.const(alpha_input, "Prelu alpha").astype(np.float32).reshape(-1)
            onnxgraph.emit_prelu(g, x, slope, final, self.prelu_form, alpha_input)
        else:
            raise ConversionError("fused activation %s is not supported" % kind)

    # -- ops -----------------------------------------------------------------
    def op_conv(self, node):
        self.check_nhwc(node)
        op = node["op"]
        ins = self.inputs(node)
        x = ins[0]
        w = self.const(ins[1], "conv filter").astype(np.float32)
        xs = self.shape(x)
        strides = _attr(node, "strides", [1, 1, 1, 1])[1:3]
        dil = _attr(node, "dilations", [1, 1, 1, 1])[1:3]
        if "Depthwise" in op:
            kh, kw, cin, mult = w.shape
            weight = w.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None]
            group, cout = cin, cin * mult
        else:
            kh, kw, cin, cout = w.shape
            weight = w.transpose(3, 2, 0, 1)  # HWIO -> OIHW
            group = 1
        if cin != xs[3]:
            raise ConversionError("%s: filter expects %d channels, input has %d"
                                  % (node["name"], cin, xs[3]))
        pads = self.pads(node, xs[1:3], (kh, kw), strides, dil)
        fused = _attr(node, "fused_ops", []) if op.startswith("_Fused") or \
            op.startswith("Fused") else []
        g = self.g
        cin_list = [self.nchw(self.value(x)), g.const(weight, ins[1])]
        extra = ins[2:]
        if fused and fused[0] == "BiasAdd":
            cin_list.append(g.const(self.const(extra[0], "bias").astype(np.float32), extra[0]))
            extra = extra[1:]
            fused = fused[1:]
        elif fused:
            raise ConversionError("%s: fused_ops %s are not supported" % (node["name"], fused))
        if len(fused) > 1:
            raise ConversionError("%s: fused_ops %s are not supported" % (node["name"], fused))
        y = g.node("Conv", cin_list, hint=node["name"] + "_nchw", kernel_shape=[kh, kw],
                   strides=list(strides), dilations=list(dil), pads=pads, group=group)
        oh = (xs[1] + pads[0] + pads[2] - (dil[0] * (kh - 1) + 1)) // strides[0] + 1
        ow = (xs[2] + pads[1] + pads[3] - (dil[1] * (kw - 1) + 1)) // strides[1] + 1
        self.shapes[node["name"]] = [xs[0], oh, ow, cout]
        if fused:
            z = g.node("Transpose", [y], hint=node["name"] + "_nhwc", perm=[0, 2, 3, 1])
            self.act(z, fused[0], self.produce(node), extra[0] if extra else None, node)
        else:
            g.node("Transpose", [y], outputs=[self.produce(node)], perm=[0, 2, 3, 1])

    def op_pool(self, node):
        self.check_nhwc(node)
        x = self.inputs(node)[0]
        xs = self.shape(x)
        k = _attr(node, "ksize")[1:3]
        s = _attr(node, "strides")[1:3]
        pads = self.pads(node, xs[1:3], k, s, (1, 1))
        onnx_op = "MaxPool" if node["op"] == "MaxPool" else "AveragePool"
        y = self.g.node(onnx_op, [self.nchw(self.value(x))], hint=node["name"] + "_nchw",
                        kernel_shape=list(k), strides=list(s), pads=pads)
        self.g.node("Transpose", [y], outputs=[self.produce(node)], perm=[0, 2, 3, 1])
        self.shapes[node["name"]] = [xs[0], (xs[1] + pads[0] + pads[2] - k[0]) // s[0] + 1,
                                     (xs[2] + pads[1] + pads[3] - k[1]) // s[1] + 1, xs[3]]

    def op_binary(self, node):
        onnx_op = {"AddV2": "Add", "Add": "Add", "BiasAdd": "Add", "Sub": "Sub", "Mul": "Mul",
                   "RealDiv": "Div", "Maximum": "Max", "Minimum": "Min"}[node["op"]]
        a, b = self.inputs(node)
        va, vb = self.value(a), self.value(b)
        if self.is_int(a) != self.is_int(b):
            raise ConversionError("%s: mixes integer and float operands" % node["name"])
        if self.is_int(a):
            if onnx_op not in ("Add", "Sub", "Mul", "Max", "Min"):
                raise ConversionError("%s: integer %s is not supported" % (node["name"], onnx_op))
            self.int_values.add(node["name"])
        self.g.node(onnx_op, [va, vb], outputs=[self.produce(node)])
        sa, sb = self.shape(a), self.shape(b)
        self.shapes[node["name"]] = _broadcast(sa, sb)

    def op_unary(self, node):
        op = node["op"]
        x = self.inputs(node)[0]
        vx = self.value(x)
        out = self.produce(node)
        g = self.g
        simple = {"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Exp": "Exp",
                  "Abs": "Abs", "Neg": "Neg", "Sqrt": "Sqrt", "Identity": "Identity"}
        if op in simple:
            g.node(simple[op], [vx], outputs=[out])
        elif op == "Square":
            g.node("Mul", [vx, vx], outputs=[out])
        elif op == "Rsqrt":
            s = g.node("Sqrt", [vx], hint=node["name"] + "_sqrt")
            g.node("Reciprocal", [s], outputs=[out])
        elif op in ("Relu6", "Elu", "LeakyRelu"):
            self.act(vx, op, out, node=node)
        elif op == "Softmax":
            g.node("Softmax", [vx], outputs=[out], axis=-1)
        else:
            raise ConversionError("op %s is not supported" % op)
        self.shapes[node["name"]] = self.shape(x)

    def op_prelu(self, node):
        x, alpha = self.inputs(node)
        self.act(self.value(x), "Prelu", self.produce(node), alpha, node)
        self.shapes[node["name"]] = self.shape(x)

    def op_reduce(self, node):
        x, axes_name = self.inputs(node)
        xs = self.shape(x)
        axes = sorted(int(a) % len(xs) for a in np.atleast_1d(self.const(axes_name, "axes")))
        keep = 1 if _attr(node, "keep_dims", False) else 0
        out = [self.produce(node)]
        onnx_op = {"Mean": "ReduceMean", "Sum": "ReduceSum", "Max": "ReduceMax",
                   "Min": "ReduceMin", "Prod": "ReduceProd"}[node["op"]]
        if onnx_op == "ReduceSum":
            self.g.node(onnx_op, [self.value(x), self.g.const(np.array(axes, np.int64), "axes")],
                        outputs=out, keepdims=keep)
        else:
            self.g.node(onnx_op, [self.value(x)], outputs=out, axes=axes, keepdims=keep)
        self.shapes[node["name"]] = [1 if i in axes else d for i, d in enumerate(xs)] if keep \
            else [d for i, d in enumerate(xs) if i not in axes]

    def op_reshape(self, node):
        x, shape_name = self.inputs(node)
        target = [int(v) for v in self.const(shape_name, "reshape shape")]
        if self.is_int(x):
            self.int_values.add(node["name"])
        self.g.node("Reshape", [self.value(x), self.g.const(np.array(target, np.int64), "shape")],
                    outputs=[self.produce(node)])
        xs = self.shape(x)
        known = int(np.prod([d for d in xs if d > 0])) if all(d > 0 for d in xs) else None
        res = list(target)
        if -1 in res and known is not None:
            rest = int(np.prod([d for d in res if d != -1]))
            res[res.index(-1)] = known // rest
        self.shapes[node["name"]] = res

    def op_squeeze(self, node):
        x = self.inputs(node)[0]
        xs = self.shape(x)
        axes = _attr(node, "squeeze_dims", [])
        axes = sorted(a % len(xs) for a in axes) if axes else \
            [i for i, d in enumerate(xs) if d == 1]
        self.g.node("Squeeze", [self.value(x), self.g.const(np.array(axes, np.int64), "axes")],
                    outputs=[self.produce(node)])
        self.shapes[node["name"]] = [d for i, d in enumerate(xs) if i not in axes]

    def op_concat(self, node):
        ins = self.inputs(node)
        parts, axis_name = ins[:-1], ins[-1]
        rank = len(self.shape(parts[0]))
        axis = int(self.const(axis_name, "concat axis")) % rank
        ints = {self.is_int(p) for p in parts}
        if len(ints) != 1:
            raise ConversionError("%s: mixes integer and float parts" % node["name"])
        if ints.pop():
            self.int_values.add(node["name"])
        self.g.node("Concat", [self.value(p) for p in parts], outputs=[self.produce(node)],
                    axis=axis)
        s = list(self.shape(parts[0]))
        s[axis] = sum(self.shape(p)[axis] for p in parts)
        self.shapes[node["name"]] = s

    def op_pad(self, node):
        ins = self.inputs(node)
        p = self.const(ins[1], "paddings").astype(np.int64)
        args = [self.value(ins[0]), self.g.const(np.concatenate([p[:, 0], p[:, 1]]), "pads")]
        if node["op"] == "PadV2":
            v = self.const(ins[2], "pad value").astype(np.float32).reshape(())
            args.append(self.g.const(v, "pad_value"))
        self.g.node("Pad", args, outputs=[self.produce(node)], mode="constant")
        self.shapes[node["name"]] = [d if d < 0 else d + int(a) + int(b)
                                     for d, (a, b) in zip(self.shape(ins[0]), p)]

    def op_matmul(self, node):
        ins = self.inputs(node)
        if _attr(node, "transpose_a", False):
            raise ConversionError("%s: transpose_a is not supported" % node["name"])
        w = self.const(ins[1], "matmul weights").astype(np.float32)
        if _attr(node, "transpose_b", False):
            w = w.T
        fused = _attr(node, "fused_ops", []) if node["op"] == "_FusedMatMul" else []
        g = self.g
        args = [self.value(ins[0]), g.const(w, ins[1])]
        extra = ins[2:]
        if fused and fused[0] == "BiasAdd":
            args.append(g.const(self.const(extra[0], "bias").astype(np.float32), extra[0]))
            extra = extra[1:]
            fused = fused[1:]
        op = "Gemm" if len(args) == 3 else "MatMul"
        if fused:
            y = g.node(op, args, hint=node["name"] + "_pre")
            self.act(y, fused[0], self.produce(node), extra[0] if extra else None, node)
        else:
            g.node(op, args, outputs=[self.produce(node)])
        self.shapes[node["name"]] = [self.shape(ins[0])[0], w.shape[1]]

    def op_strided_slice(self, node):
        x, b, e, st = self.inputs(node)
        xs = self.shape(x)
        begin, end = self.const_ints(b, "slice begin"), self.const_ints(e, "slice end")
        strides = self.const_ints(st, "slice strides")
        bm, em = _attr(node, "begin_mask", 0), _attr(node, "end_mask", 0)
        shrink = _attr(node, "shrink_axis_mask", 0)
        if _attr(node, "ellipsis_mask", 0) or _attr(node, "new_axis_mask", 0):
            raise ConversionError("%s: ellipsis and new-axis masks are not supported"
                                  % node["name"])
        if any(d < 0 for d in xs[:len(begin)]):
            raise ConversionError("%s: slicing a dynamic dimension" % node["name"])
        starts, ends, axes, steps, shape, squeeze = [], [], [], [], [], []
        for i, d in enumerate(xs):
            if i >= len(begin):
                shape.append(d)
                continue
            if strides[i] <= 0:
                raise ConversionError("%s: only positive strides are supported" % node["name"])
            if shrink >> i & 1:
                lo = begin[i] % d
                rng = range(lo, lo + 1)
                squeeze.append(i)
            else:
                lo = None if bm >> i & 1 else begin[i]
                hi = None if em >> i & 1 else end[i]
                rng = range(d)[slice(lo, hi, strides[i])]
            if len(rng) == d and strides[i] == 1:
                shape.append(d)
                continue
            starts.append(rng.start)
            ends.append(rng.start + len(rng) * strides[i] if len(rng) else rng.start)
            axes.append(i)
            steps.append(strides[i])
            shape.append(len(rng))
        y = self.value(x)
        final = self.produce(node)
        g = self.g
        if axes:
            ins = [y] + [g.const(np.array(v, np.int64), k)
                         for v, k in ((starts, "starts"), (ends, "ends"), (axes, "axes"),
                                      (steps, "steps"))]
            y = g.node("Slice", ins, hint=node["name"] + "_slice",
                       outputs=None if squeeze else [final])
        if squeeze:
            g.node("Squeeze", [y, g.const(np.array(squeeze, np.int64), "axes")], outputs=[final])
        elif not axes:
            g.node("Identity", [y], outputs=[final])
        self.shapes[node["name"]] = [d for i, d in enumerate(shape) if i not in squeeze]
        if self.is_int(x):
            self.int_values.add(node["name"])

    def op_addn(self, node):
        ins = self.inputs(node)
        self.g.node("Sum", [self.value(i) for i in ins], outputs=[self.produce(node)])
        shape = self.shape(ins[0])
        for i in ins[1:]:
            shape = _broadcast(shape, self.shape(i))
        self.shapes[node["name"]] = shape

    def op_batch_matmul(self, node):
        a, b = self.inputs(node)
        g = self.g
        args, shapes = [], []
        for v, adj in ((a, _attr(node, "adj_x", False)), (b, _attr(node, "adj_y", False))):
            s = list(self.shape(v))
            val = self.value(v)
            if adj:
                perm = list(range(len(s) - 2)) + [len(s) - 1, len(s) - 2]
                val = g.node("Transpose", [val], hint=node["name"] + "_adj", perm=perm)
                s = [s[p] for p in perm]
            args.append(val)
            shapes.append(s)
        g.node("MatMul", args, outputs=[self.produce(node)])
        sa, sb = shapes
        self.shapes[node["name"]] = _broadcast(sa[:-2], sb[:-2]) + [sa[-2], sb[-1]]

    def op_gather_nd(self, node):
        params, idx = self.inputs(node)
        if not self.is_int(idx):
            raise ConversionError("%s: indices must be integers" % node["name"])
        self.g.node("GatherND", [self.value(params), self.value(idx)],
                    outputs=[self.produce(node)], batch_dims=0)
        ps, ix = self.shape(params), self.shape(idx)
        self.shapes[node["name"]] = list(ix[:-1]) + list(ps[ix[-1]:])

    def op_gather(self, node):
        params, idx, axis_name = self.inputs(node)
        if _attr(node, "batch_dims", 0):
            raise ConversionError("%s: batch_dims is not supported" % node["name"])
        ps = self.shape(params)
        axis = int(self.const(axis_name, "gather axis")) % len(ps)
        self.g.node("Gather", [self.value(params), self.value(idx)],
                    outputs=[self.produce(node)], axis=axis)
        self.shapes[node["name"]] = list(ps[:axis]) + list(self.shape(idx)) + list(ps[axis + 1:])
        if self.is_int(params):
            self.int_values.add(node["name"])

    def op_transpose(self, node):
        x, perm_name = self.inputs(node)
        perm = self.const_ints(perm_name, "transpose perm")
        self.g.node("Transpose", [self.value(x)], outputs=[self.produce(node)], perm=perm)
        xs = self.shape(x)
        self.shapes[node["name"]] = [xs[p] for p in perm]
        if self.is_int(x):
            self.int_values.add(node["name"])

    def op_floor(self, node):
        x = self.inputs(node)[0]
        self.g.node("Floor", [self.value(x)], outputs=[self.produce(node)])
        self.shapes[node["name"]] = self.shape(x)

    def op_cast(self, node):
        x = self.inputs(node)[0]
        dst = _attr(node, "DstT")
        if dst in ("DT_INT32", "DT_INT64"):
            to = TensorProto.INT64
            self.int_values.add(node["name"])
        elif dst == "DT_FLOAT":
            to = TensorProto.FLOAT
        else:
            raise ConversionError("%s: cast to %s is not supported" % (node["name"], dst))
        self.g.node("Cast", [self.value(x)], outputs=[self.produce(node)], to=to)
        self.shapes[node["name"]] = self.shape(x)

    # -- driver --------------------------------------------------------------
    def graph_outputs(self):
        meta = self.j.get("signature") or \
            (self.j.get("userDefinedMetadata") or {}).get("signature") or {}
        outs = []
        for key in (meta.get("outputs") or {}):
            spec = meta["outputs"][key]
            outs.append(_ref(spec.get("name", key))[0])
        if not outs:
            consumed = set()
            for n in self.nodes.values():
                for i in n.get("input", []):
                    r = _ref(i)
                    if r:
                        consumed.add(r[0])
            outs = [n for n in self.nodes if n not in consumed and self.nodes[n]["op"] != "Const"
                    and n not in self.w]
        return sorted(set(outs), key=_natural_key)

    def run(self):
        self.output_names = self.graph_outputs()
        for name in self.output_names:
            self.g.reserve(name)
        order = []
        state = {}

        def visit(name):  # iterative DFS for deep graphs
            stack = [(name, False)]
            while stack:
                n, done = stack.pop()
                if done:
                    state[n] = 2
                    order.append(n)
                    continue
                if state.get(n) == 2:
                    continue
                if state.get(n) == 1:
                    raise ConversionError("graph has a cycle at %s" % n)
                if n not in self.nodes:
                    if n in self.w:
                        state[n] = 2
                        continue
                    raise ConversionError("unknown node %s" % n)
                state[n] = 1
                stack.append((n, True))
                for i in reversed(self.nodes[n].get("input", [])):
                    r = _ref(i)
                    if r and state.get(r[0]) != 2:
                        stack.append((r[0], False))

        for name in self.output_names:
            visit(name)

        handlers = {}
        for op in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative",
                   "FusedDepthwiseConv2dNative"):
            handlers[op] = self.op_conv
        for op in ("MaxPool", "AvgPool"):
            handlers[op] = self.op_pool
        for op in ("AddV2", "Add", "BiasAdd", "Sub", "Mul", "RealDiv", "Maximum", "Minimum"):
            handlers[op] = self.op_binary
        for op in ("Relu", "Relu6", "Sigmoid", "Tanh", "Elu", "LeakyRelu", "Exp", "Abs", "Neg",
                   "Sqrt", "Rsqrt", "Square", "Softmax", "Identity"):
            handlers[op] = self.op_unary
        for op in ("Mean", "Sum", "Max", "Min", "Prod"):
            handlers[op] = self.op_reduce
        handlers.update(Prelu=self.op_prelu, Reshape=self.op_reshape, Squeeze=self.op_squeeze,
                        ConcatV2=self.op_concat, Pad=self.op_pad, PadV2=self.op_pad,
                        MatMul=self.op_matmul, _FusedMatMul=self.op_matmul,
                        StridedSlice=self.op_strided_slice, AddN=self.op_addn,
                        BatchMatMulV2=self.op_batch_matmul, BatchMatMul=self.op_batch_matmul,
                        GatherNd=self.op_gather_nd, GatherV2=self.op_gather,
                        Transpose=self.op_transpose, Floor=self.op_floor, Cast=self.op_cast)

        n_placeholders = 0
        for name in order:
            node = self.nodes.get(name)
            if node is None or node["op"] == "Const" or name in self.w:
                if node is not None and node["op"] == "Const" and name not in self.w:
                    raise ConversionError("constant %s has no weight data" % name)
                continue
            op = node["op"]
            if op == "Placeholder":
                n_placeholders += 1
                dims = [int(d.get("size", -1)) for d in _attr(node, "shape", {}).get("dim", [])]
                if not dims:
                    raise ConversionError("input %s has no shape" % name)
                shape = list(dims)
                if shape[0] == -1 and not self.dynamic_batch:
                    shape[0] = 1  # a batch fixed in the file stays fixed
                if any(d < 0 for d in shape[1:]):
                    raise ConversionError("input %s: only the batch dim may be dynamic" % name)
                self.g.reserve(name)
                self.names[name] = name
                self.shapes[name] = shape
                self.g.add_input(name, ["N" if d < 0 else d for d in shape])
                continue
            handler = handlers.get(op)
            if handler is None:
                raise ConversionError("TFJS op %s (node %s) is not supported" % (op, name))
            handler(node)
        if n_placeholders != 1:
            raise ConversionError("expected one input, found %d" % n_placeholders)
        for name in self.output_names:
            if self.names.get(name) != name:  # an output that aliases another value
                self.g.node("Identity", [self.value(name)], outputs=[name])
            self.g.add_output(name, ["N" if d < 0 else d for d in self.shapes[name]])
        return self.g


def _broadcast(a, b):
    n = max(len(a), len(b))
    a = [1] * (n - len(a)) + list(a)
    b = [1] * (n - len(b)) + list(b)
    return [x if y == 1 else y if x == 1 else x for x, y in zip(a, b)]


def _natural_key(s):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s)]


def convert(model_json, read_file, dynamic_batch=True, prelu_form="relu_min", metadata=None,
            doc=""):
    """model_json: parsed model.json; read_file(path) -> bytes of a weight shard."""
    if model_json.get("format") not in (None, "graph-model"):
        raise ConversionError("format %r is not a graph model" % model_json.get("format"))
    weights = load_weights(model_json["weightsManifest"], read_file)
    conv = TfjsConverter(model_json, weights, dynamic_batch, prelu_form)
    g = conv.run()
    meta = {"converter": "tfjs2onnx"}
    meta.update(metadata or {})
    return g.build(doc=doc, metadata=meta)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert a TFJS graph model to ONNX (opset 13).")
    ap.add_argument("model_json")
    ap.add_argument("output")
    ap.add_argument("--static-batch", action="store_true",
                    help="batch 1 instead of a dynamic 'N'")
    ap.add_argument("--prelu-form", choices=onnxgraph.PRELU_FORMS, default="relu_min",
                    help="emit Prelu as relu(x) + a*min(x, 0) (default) or as PRelu nodes")
    args = ap.parse_args(argv)
    folder = os.path.dirname(os.path.abspath(args.model_json))

    def read_file(p):
        with open(os.path.join(folder, p), "rb") as f:
            return f.read()

    try:
        with open(args.model_json, encoding="utf-8") as f:
            mj = json.load(f)
        m = convert(mj, read_file, not args.static_batch, args.prelu_form)
    except (ConversionError, OSError, ValueError, KeyError) as e:
        print("tfjs2onnx: %s: %s" % (args.model_json, e), file=sys.stderr)
        return 1
    blob = onnxgraph.model_bytes(m)
    onnxgraph.write_atomic(args.output, blob)
    print("tfjs2onnx: wrote %s (%d bytes, %d nodes, sha256 %s)" % (
        args.output, len(blob), len(m.graph.node), onnxgraph.sha256_bytes(blob)))
    for name, dims in onnxgraph.value_info_shapes(m.graph.input):
        print("  input  %s %s" % (name, dims))
    for name, dims in onnxgraph.value_info_shapes(m.graph.output):
        print("  output %s %s" % (name, dims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
