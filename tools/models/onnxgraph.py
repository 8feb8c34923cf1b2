#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Small helpers shared by the model converters and the stand-in generator.

`Graph` collects ONNX nodes, initializers and graph inputs/outputs with
unique, deterministic names, then builds a checked `ModelProto`.  All models
the project ships use IR version 7 and opset 13, which Debian's python3-onnx
1.12 writes and ONNX Runtime 1.29 loads.  `write_atomic` stores bytes under a
temporary name, fsyncs and renames, so a reader never sees half a model.

Only the Python standard library, numpy and onnx are used.
"""

import hashlib
import json
import os
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

IR_VERSION = 7
OPSET = 13
PRODUCER = "photo-organizer-model-tools"
# Bump when a converter change alters the bytes of every model (it is stored
# in each model's producer_version, so the sha256 pins change with it).
TOOLS_VERSION = "1"

_NP_TO_ONNX = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.int32): TensorProto.INT32,
}


class ConversionError(Exception):
    """A model cannot be converted; the message says what and why."""


class Graph:
    """Accumulates one ONNX graph.  Names are made unique on request."""

    def __init__(self, name):
        self.name = name
        self.nodes = []
        self.initializers = []
        self.inputs = []
        self.outputs = []
        self._used = set()
        self._counters = {}

    # -- names ---------------------------------------------------------------
    def reserve(self, name):
        """Claims an exact name (graph inputs/outputs keep their source names)."""
        if name in self._used:
            raise ConversionError("duplicate tensor name %r" % name)
        self._used.add(name)
        return name

    def fresh(self, hint):
        """Returns a new unique name derived from `hint`."""
        hint = hint or "t"
        if hint not in self._used:
            self._used.add(hint)
            return hint
        n = self._counters.get(hint, 0)
        while True:
            n += 1
            cand = "%s__%d" % (hint, n)
            if cand not in self._used:
                self._counters[hint] = n
                self._used.add(cand)
                return cand

    # -- content -------------------------------------------------------------
    def const(self, array, hint="const"):
        """Adds an initializer and returns its name.  float64 becomes float32."""
        arr = np.asarray(array)
        if arr.dtype == np.float64 or arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        if arr.dtype not in _NP_TO_ONNX:
            raise ConversionError("unsupported constant dtype %s for %s" % (arr.dtype, hint))
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op_type, inputs, hint=None, outputs=None, n_out=1, **attrs):
        """Adds a node.  Returns the output name (or a list if n_out > 1)."""
        if outputs is None:
            base = hint or op_type.lower()
            outputs = [self.fresh(base) for _ in range(n_out)]
        node_name = self.fresh("n_" + (hint or outputs[0]))
        self.nodes.append(helper.make_node(op_type, list(inputs), list(outputs),
                                           name=node_name, **attrs))
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def add_input(self, name, shape, elem_type=TensorProto.FLOAT):
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, list(shape)))

    def add_output(self, name, shape, elem_type=TensorProto.FLOAT):
        self.outputs.append(helper.make_tensor_value_info(
            name, elem_type, None if shape is None else list(shape)))

    # -- result --------------------------------------------------------------
    def build(self, doc="", metadata=None, check=True):
        """Returns a checked ModelProto (IR 7, opset 13)."""
        g = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs,
                              self.initializers)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name=PRODUCER, producer_version=TOOLS_VERSION)
        m.ir_version = IR_VERSION
        m.model_version = 1
        if doc:
            m.doc_string = doc
        for key in sorted(metadata or {}):
            entry = m.metadata_props.add()
            entry.key = key
            entry.value = str(metadata[key])
        if check:
            try:
                onnx.checker.check_model(m, full_check=True)
            except Exception as e:  # checker raises several types
                raise ConversionError("generated model fails onnx.checker: %s" % e) from e
        return m


PRELU_FORMS = ("relu_min", "prelu")


def emit_prelu(g, x, slope, out, form="relu_min", hint="slope"):
    """y = x where x >= 0, slope * x elsewhere; `slope` broadcasts against x.

    form "prelu" is one PRelu node.  form "relu_min" is relu(x) + slope *
    min(x, 0): the same values bit for bit, and ONNX Runtime 1.29's CPU
    provider runs these four elementwise kernels several times faster than
    its PRelu kernel (measured: MobileFaceNet 23-25 -> 14-15.5 ms per batch
    of 2, face_landmark 4.1 -> 2.1 ms, one thread)."""
    if form == "prelu":
        return g.node("PRelu", [x, g.const(slope, hint)], outputs=[out])
    if form != "relu_min":
        raise ConversionError("unknown PReLU form %r (use one of %s)" % (form, PRELU_FORMS))
    neg = g.node("Min", [x, g.const(np.float32(0), "zero")], hint=out + "_neg")
    pos = g.node("Relu", [x], hint=out + "_pos")
    scaled = g.node("Mul", [neg, g.const(slope, hint)], hint=out + "_scaled")
    return g.node("Add", [pos, scaled], outputs=[out])


def model_bytes(model):
    """Serialized model bytes; the same graph always gives the same bytes."""
    return model.SerializeToString(deterministic=True)


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_atomic(path, data):
    """Writes `data` to `path` via a temp file in the same folder, fsync, rename."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def same_pads(in_size, kernel, stride, dilation):
    """TensorFlow SAME padding for one axis: (before, after); extra goes after."""
    out = -(-in_size // stride)
    eff = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + eff - in_size, 0)
    return total // 2, total - total // 2


def value_info_shapes(values):
    """[(name, [dims])] of graph inputs/outputs; symbolic dims as strings."""
    res = []
    for v in values:
        dims = []
        for d in v.type.tensor_type.shape.dim:
            if d.HasField("dim_value"):
                dims.append(d.dim_value)
            elif d.HasField("dim_param"):
                dims.append(d.dim_param)
            else:
                dims.append("?")
        res.append((v.name, dims))
    return res


def format_json(obj, indent=0, width=110):
    """JSON with short lists/objects kept on one line (stable, diff-friendly)."""
    one = json.dumps(obj, ensure_ascii=False)
    if not isinstance(obj, (dict, list)) or len(one) + indent <= width and (
            isinstance(obj, list) or len(obj) <= 6):
        return one
    pad = " " * (indent + 2)
    if isinstance(obj, list) and all(not isinstance(v, (dict, list)) for v in obj):
        lines, cur = [], ""
        for v in obj:  # long lists of numbers: as many per line as fit
            item = json.dumps(v)
            if cur and len(pad) + len(cur) + len(item) + 2 > width:
                lines.append(pad + cur + ",")
                cur = ""
            cur = cur + ", " + item if cur else item
        lines.append(pad + cur)
        return "[\n" + "\n".join(lines) + "\n" + " " * indent + "]"
    if isinstance(obj, list):
        items = [pad + format_json(v, indent + 2, width) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [pad + json.dumps(k) + ": " + format_json(v, indent + 2, width)
             for k, v in obj.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
