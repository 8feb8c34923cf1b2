#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Takes an ONNX model as published (no conversion) and makes it fit the manifest.

The published file is parsed, checked with onnx.checker, brought to the
converters' IR and opset by onnx's version converter, its graph input and
output batch dimension made dynamic ("N") when asked (the graph itself must
not depend on a batch of 1: the caller's contract check and the tests run it
with larger batches), and the model's metadata set like every converter's
(model name, npm source). Nothing else is touched: weights and nodes are the
publisher's.
"""

import os
import sys

import onnx
from onnx import version_converter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnxgraph import ConversionError, IR_VERSION, OPSET, PRODUCER, TOOLS_VERSION  # noqa: E402


def convert_bytes(data, dynamic_batch=True, metadata=None):
    try:
        model = onnx.load_from_string(data)
        onnx.checker.check_model(model)
    except Exception as e:  # onnx raises several types
        raise ConversionError("not a valid ONNX model: %s" % e) from e
    # The same IR and opset as every model the converters write (what the checks
    # and the C side were tested with): onnx's own version converter.
    try:
        model = version_converter.convert_version(model, OPSET)
    except Exception as e:
        raise ConversionError("cannot bring the model to opset %d: %s" % (OPSET, e)) from e
    model.ir_version = IR_VERSION
    # Shapes inferred while converting were inferred for the published batch of
    # 1; left in the graph, ONNX Runtime would fold them into constants.
    del model.graph.value_info[:]
    if dynamic_batch:
        for value in list(model.graph.input) + list(model.graph.output):
            dims = value.type.tensor_type.shape.dim
            if not dims:
                raise ConversionError("%s has no shape to make the batch dynamic in" % value.name)
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "N"
    # Provenance, as the other converters record it; the publisher's own
    # producer is kept in doc_string.
    published = "%s %s" % (model.producer_name, model.producer_version)
    model.producer_name, model.producer_version = PRODUCER, TOOLS_VERSION
    model.doc_string = ("imported unchanged from %s" % published).strip()
    del model.metadata_props[:]
    for key in sorted(metadata or {}):
        entry = model.metadata_props.add()
        entry.key = key
        entry.value = str(metadata[key])
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:
        raise ConversionError("imported model fails onnx.checker: %s" % e) from e
    return model
