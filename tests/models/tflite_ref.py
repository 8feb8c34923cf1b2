#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Independent NumPy interpreter for float TFLite models (test reference).

This shares no code with tools/models/tflite2onnx.py.  The flatbuffer is
decoded by a small schema-driven reader (tables described as field lists,
builtin options decoded by the union *type tag* stored in each operator, not
by the op code as the converter does), and every op is evaluated directly in
NHWC with NumPy in float64 (results rounded to float32 per op, like a float32
interpreter would store them), following TensorFlow Lite's reference
kernels: SAME padding puts the extra pixel after, max pooling ignores padded
cells, average pooling divides by the number of valid cells, bilinear resize
with half_pixel_centers uses in = (out + 0.5) * in_size / out_size - 0.5 with
the lower index clamped at 0 and the upper at in_size - 1.

    interp = Interpreter(open("m.tflite", "rb").read())
    outputs = interp.run(x)      # {output name: array}; x may have any batch
"""

import struct

import numpy as np

# ---------------------------------------------------------------------------
# schema-driven flatbuffer decoding
# ---------------------------------------------------------------------------

# Table layouts: list of (field name, kind) in slot order.  Kinds: a struct
# format letter, "str", "[x]" (vector of scalars x), "[T]" (vector of tables
# T), "T" (table T), "union:<type field>" (table picked by the union tag).
TABLES = {
    "Model": [("version", "I"), ("operator_codes", "[OperatorCode]"),
              ("subgraphs", "[SubGraph]"), ("description", "str"), ("buffers", "[Buffer]")],
    "OperatorCode": [("deprecated_builtin_code", "b"), ("custom_code", "str"), ("version", "i"),
                     ("builtin_code", "i")],
    "SubGraph": [("tensors", "[Tensor]"), ("inputs", "[i]"), ("outputs", "[i]"),
                 ("operators", "[Operator]"), ("name", "str")],
    "Tensor": [("shape", "[i]"), ("type", "b"), ("buffer", "I"), ("name", "str"),
               ("quantization", "Quantization"), ("is_variable", "?"), ("sparsity", "Sparsity")],
    "Quantization": [("min", "[f]"), ("max", "[f]"), ("scale", "[f]"), ("zero_point", "[q]")],
    "Sparsity": [],
    "Buffer": [("data", "[B]")],
    "Operator": [("opcode_index", "I"), ("inputs", "[i]"), ("outputs", "[i]"),
                 ("builtin_options_type", "B"), ("builtin_options", "union:builtin_options_type")],
}

# BuiltinOptions union members used by the face models (tag -> table layout).
OPTION_TABLES = {
    1: ("Conv2DOptions", [("padding", "b"), ("stride_w", "i"), ("stride_h", "i"),
                          ("fused_activation_function", "b"), ("dilation_w_factor", "i", 1),
                          ("dilation_h_factor", "i", 1)]),
    2: ("DepthwiseConv2DOptions", [("padding", "b"), ("stride_w", "i"), ("stride_h", "i"),
                                   ("depth_multiplier", "i"), ("fused_activation_function", "b"),
                                   ("dilation_w_factor", "i", 1), ("dilation_h_factor", "i", 1)]),
    5: ("Pool2DOptions", [("padding", "b"), ("stride_w", "i"), ("stride_h", "i"),
                          ("filter_width", "i"), ("filter_height", "i"),
                          ("fused_activation_function", "b")]),
    8: ("FullyConnectedOptions", [("fused_activation_function", "b"), ("weights_format", "b"),
                                  ("keep_num_dims", "?")]),
    9: ("SoftmaxOptions", [("beta", "f")]),
    10: ("ConcatenationOptions", [("axis", "i"), ("fused_activation_function", "b")]),
    11: ("AddOptions", [("fused_activation_function", "b")]),
    15: ("ResizeBilinearOptions", [("new_height", "i"), ("new_width", "i"),
                                   ("align_corners", "?"), ("half_pixel_centers", "?")]),
    17: ("ReshapeOptions", [("new_shape", "[i]")]),
    21: ("MulOptions", [("fused_activation_function", "b")]),
    22: ("PadOptions", []),
    27: ("ReducerOptions", [("keep_dims", "?")]),
    28: ("SubOptions", [("fused_activation_function", "b")]),
    29: ("DivOptions", [("fused_activation_function", "b")]),
    33: ("ExpOptions", []),
    38: ("DequantizeOptions", []),
    42: ("NegOptions", []),
}

OPCODES = {0: "ADD", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 6: "DEQUANTIZE",
           9: "FULLY_CONNECTED", 17: "MAX_POOL_2D", 1: "AVERAGE_POOL_2D", 18: "MUL", 19: "RELU",
           22: "RESHAPE", 23: "RESIZE_BILINEAR", 25: "SOFTMAX", 34: "PAD", 41: "SUB", 42: "DIV",
           47: "EXP", 54: "PRELU", 59: "NEG", 74: "SUM", 82: "REDUCE_MAX", 101: "ABS",
           14: "LOGISTIC"}
DTYPES = {0: "<f4", 1: "<f2", 2: "<i4", 3: "u1", 4: "<i8", 9: "i1"}


def _decode(buf, pos, layout):
    vt = pos - struct.unpack_from("<i", buf, pos)[0]
    vt_size = struct.unpack_from("<H", buf, vt)[0]
    res = {}
    for slot, field in enumerate(layout):
        name, kind = field[0], field[1]
        default = field[2] if len(field) > 2 else None
        off = struct.unpack_from("<H", buf, vt + 4 + 2 * slot)[0] if 4 + 2 * slot < vt_size else 0
        if off == 0:
            if kind.startswith("["):
                res[name] = []
            elif kind == "str" or kind in TABLES or kind.startswith("union"):
                res[name] = None
            else:
                res[name] = 0 if default is None else default
            continue
        at = pos + off
        if kind.startswith("union:"):
            tag = res[kind.split(":")[1]]
            if tag not in OPTION_TABLES:
                raise ValueError("options union tag %d is not known to the reference" % tag)
            tname, tlayout = OPTION_TABLES[tag]
            sub = at + struct.unpack_from("<I", buf, at)[0]
            res[name] = dict(_decode(buf, sub, tlayout), _table=tname)
        elif kind == "str":
            s = at + struct.unpack_from("<I", buf, at)[0]
            n = struct.unpack_from("<I", buf, s)[0]
            res[name] = bytes(buf[s + 4:s + 4 + n]).decode("utf-8")
        elif kind.startswith("["):
            inner = kind[1:-1]
            v = at + struct.unpack_from("<I", buf, at)[0]
            n = struct.unpack_from("<I", buf, v)[0]
            if inner in TABLES:
                res[name] = [_decode(buf, v + 4 + 4 * i + struct.unpack_from(
                    "<I", buf, v + 4 + 4 * i)[0], TABLES[inner]) for i in range(n)]
            elif inner == "B":
                res[name] = bytes(buf[v + 4:v + 4 + n])
            else:
                res[name] = list(struct.unpack_from("<%d%s" % (n, inner), buf, v + 4))
        elif kind in TABLES:
            res[name] = _decode(buf, at + struct.unpack_from("<I", buf, at)[0], TABLES[kind])
        else:
            res[name] = struct.unpack_from("<" + kind, buf, at)[0]
    return res


# ---------------------------------------------------------------------------
# kernels (NHWC, float64)
# ---------------------------------------------------------------------------


def _same(n, k, s, d):
    eff = (k - 1) * d + 1
    out = (n + s - 1) // s
    total = max(0, (out - 1) * s + eff - n)
    return total // 2, total - total // 2


def _windows(x, kh, kw, sh, sw, dh, dw, padding, fill):
    """Patches [N, OH, OW, C, kh, kw] of x (NHWC) with TF padding."""
    n, h, w, c = x.shape
    if padding == 0:  # SAME
        pt, pb = _same(h, kh, sh, dh)
        pl, pr = _same(w, kw, sw, dw)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    v = np.lib.stride_tricks.sliding_window_view(x, (eh, ew), axis=(1, 2))
    return v[:, ::sh, ::sw, :, ::dh, ::dw]


def _act(x, code):
    if code == 0:
        return x
    if code == 1:
        return np.maximum(x, 0)
    if code == 2:
        return np.clip(x, -1, 1)
    if code == 3:
        return np.clip(x, 0, 6)
    if code == 4:
        return np.tanh(x)
    raise ValueError("activation %d" % code)


def _resize_bilinear(x, oh, ow, align, half):
    n, h, w, c = x.shape

    def axis(out_size, in_size):
        if align and out_size > 1:
            scale = (in_size - 1) / (out_size - 1)
        else:
            scale = in_size / out_size
        o = np.arange(out_size, dtype=np.float64)
        src = (o + 0.5) * scale - 0.5 if half else o * scale
        lo_f = np.floor(src)
        lo = np.clip(lo_f, 0, in_size - 1).astype(int)
        hi = np.clip(np.ceil(src), 0, in_size - 1).astype(int) if half else \
            np.minimum(lo + 1, in_size - 1)
        return lo, hi, src - lo_f

    y0, y1, fy = axis(oh, h)
    x0, x1, fx = axis(ow, w)
    top = x[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + \
        x[:, y0][:, :, x1] * fx[None, None, :, None]
    bot = x[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + \
        x[:, y1][:, :, x1] * fx[None, None, :, None]
    return top * (1 - fy)[None, :, None, None] + bot * fy[None, :, None, None]


class Interpreter:
    def __init__(self, data):
        if bytes(data[4:8]) != b"TFL3":
            raise ValueError("not a TFLite file")
        self.model = _decode(data, struct.unpack_from("<I", data, 0)[0], TABLES["Model"])
        self.sg = self.model["subgraphs"][0]
        self.tensors = self.sg["tensors"]
        codes = []
        for oc in self.model["operator_codes"]:
            code = max(oc["deprecated_builtin_code"], oc["builtin_code"])
            codes.append(OPCODES.get(code, "OP%d" % code))
        self.ops = [(codes[o["opcode_index"]], o) for o in self.sg["operators"]]
        self.consts = {}
        for i, t in enumerate(self.tensors):
            raw = self.model["buffers"][t["buffer"]]["data"] if t["buffer"] else b""
            if raw:
                self.consts[i] = np.frombuffer(raw, DTYPES[t["type"]]).reshape(t["shape"])

    def option_tags(self):
        """{op name: set of option table names}: lets a test confirm the union decoding."""
        tags = {}
        for name, o in self.ops:
            opt = o["builtin_options"]
            tags.setdefault(name, set()).add(opt["_table"] if opt else None)
        return tags

    def run(self, x):
        vals = {i: a.astype(np.float64) if a.dtype.kind == "f" else a
                for i, a in self.consts.items()}
        inp = self.sg["inputs"][0]
        vals[inp] = np.asarray(x, np.float64)
        batch = vals[inp].shape[0]
        for name, o in self.ops:
            ins = [vals[i] if i >= 0 else None for i in o["inputs"]]
            opt = o["builtin_options"] or {}
            y = self._eval(name, o, ins, opt, batch)
            vals[o["outputs"][0]] = y.astype(np.float32).astype(np.float64) \
                if y.dtype.kind == "f" else y
        return {self.tensors[i]["name"]: vals[i].astype(np.float32) for i in self.sg["outputs"]}

    def _eval(self, name, o, ins, opt, batch):
        act = opt.get("fused_activation_function", 0)
        if name == "DEQUANTIZE":
            return ins[0].astype(np.float64)
        if name == "CONV_2D":
            x, w = ins[0], ins[1]  # w [O, kh, kw, I]
            p = _windows(x, w.shape[1], w.shape[2], opt["stride_h"], opt["stride_w"],
                         opt["dilation_h_factor"], opt["dilation_w_factor"], opt["padding"], 0.0)
            y = np.tensordot(p, w, axes=([3, 4, 5], [3, 1, 2]))
            if len(ins) > 2 and ins[2] is not None:
                y = y + ins[2]
            return _act(y, act)
        if name == "DEPTHWISE_CONV_2D":
            x, w = ins[0], ins[1]  # w [1, kh, kw, C*m]
            m = opt["depth_multiplier"]
            p = _windows(x, w.shape[1], w.shape[2], opt["stride_h"], opt["stride_w"],
                         opt["dilation_h_factor"], opt["dilation_w_factor"], opt["padding"], 0.0)
            if m != 1:
                p = np.repeat(p, m, axis=3)
            y = np.einsum("nhwcij,ijc->nhwc", p, w[0])
            if len(ins) > 2 and ins[2] is not None:
                y = y + ins[2]
            return _act(y, act)
        if name == "MAX_POOL_2D":
            p = _windows(ins[0], opt["filter_height"], opt["filter_width"], opt["stride_h"],
                         opt["stride_w"], 1, 1, opt["padding"], -np.inf)
            return _act(p.max(axis=(4, 5)), act)
        if name == "AVERAGE_POOL_2D":
            kh, kw = opt["filter_height"], opt["filter_width"]
            args = (kh, kw, opt["stride_h"], opt["stride_w"], 1, 1, opt["padding"], 0.0)
            s = _windows(ins[0], *args).sum(axis=(4, 5))
            cnt = _windows(np.ones_like(ins[0][:1, :, :, :1]), *args).sum(axis=(4, 5))
            return _act(s / cnt, act)
        if name in ("ADD", "SUB", "MUL", "DIV"):
            a, b = ins
            y = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply,
                 "DIV": np.divide}[name](a, b)
            return _act(y, act)
        if name == "RELU":
            return np.maximum(ins[0], 0)
        if name == "ABS":
            return np.abs(ins[0])
        if name == "NEG":
            return -ins[0]
        if name == "EXP":
            return np.exp(ins[0])
        if name == "LOGISTIC":
            return 1 / (1 + np.exp(-ins[0]))
        if name == "PRELU":
            return np.where(ins[0] >= 0, ins[0], ins[0] * ins[1])
        if name == "PAD":
            p = np.asarray(ins[1], int)
            return np.pad(ins[0], [tuple(r) for r in p])
        if name == "RESHAPE":
            shape = list(self.tensors[o["outputs"][0]]["shape"])
            in_shape = self.tensors[o["inputs"][0]]["shape"]
            if shape and in_shape and shape[0] == in_shape[0]:
                shape[0] = batch if ins[0].shape[0] == batch else shape[0]
            return ins[0].reshape(shape)
        if name == "CONCATENATION":
            return _act(np.concatenate([v for v in ins], axis=opt["axis"]), act)
        if name == "RESIZE_BILINEAR":
            oh, ow = (int(v) for v in ins[1])
            return _resize_bilinear(ins[0], oh, ow, opt["align_corners"],
                                    opt["half_pixel_centers"])
        if name == "FULLY_CONNECTED":
            w = ins[1]  # [O, I]
            y = ins[0].reshape(-1, w.shape[1]) @ w.T
            if len(ins) > 2 and ins[2] is not None:
                y = y + ins[2]
            return _act(y, act)
        if name in ("SUM", "REDUCE_MAX", "MEAN"):
            axes = tuple(int(a) % ins[0].ndim for a in np.atleast_1d(ins[1]))
            f = {"SUM": np.sum, "REDUCE_MAX": np.max, "MEAN": np.mean}[name]
            return f(ins[0], axis=axes, keepdims=bool(opt.get("keep_dims")))
        if name == "SOFTMAX":
            z = ins[0] * opt.get("beta", 1.0)
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        raise NotImplementedError("reference has no kernel for %s" % name)
