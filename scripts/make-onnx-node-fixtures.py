#!/usr/bin/python3
# scripts/make-onnx-node-fixtures.py: ONNX's own node test cases (python3-onnx's
# onnx/backend/test/case/node, with their expected outputs, computed by ONNX's reference code) for
# the ops housenet imports, as fixtures of tests/test_onnx.cpp. Run by hand:
#   /usr/bin/python3 scripts/make-onnx-node-fixtures.py tests/data/onnx/node
# Each single-output case with a float32 first input of at most 1024 values becomes NAME.onnx, NAME.input.bin and
# NAME.output.bin (raw little-endian float32, C order) and a MANIFEST line "NAME input-shape
# output-shape". The one change to ONNX's model: the node's other inputs (Conv's weights,
# BatchNormalization's statistics, Gemm's and MatMul's B and C, Reshape's shape) become
# initializers holding the case's values, since housenet imports constants, not extra model inputs;
# and a Softmax case on a rank-2 input gets a Flatten (axis 1: the identity on rank 2) before it,
# since housenet drops a final Softmax and a model needs a layer (ONNX's expected output holds).
import importlib
import os
import sys

import numpy as np

for alias, real in (("float", float), ("int", int), ("bool", bool), ("object", object)):
    if not hasattr(np, alias):
        setattr(np, alias, real)  # the onnx 1.12 case modules use NumPy's removed aliases
import onnx
import onnx.numpy_helper
import onnx.backend.test.case.node as node_cases

# Add, Sum and Concat are left out: their operands are all tensors, and a housenet model has one
# input (they are checked by the PyTorch fixtures and housenet's own exports instead).
MODULES = ["conv", "batchnorm", "relu", "leakyrelu", "sigmoid", "tanh", "maxpool", "averagepool",
           "globalaveragepool", "gemm", "flatten", "dropout", "identity", "reshape", "matmul", "softmax"]


def main(out):
    os.makedirs(out, exist_ok=True)
    for m in MODULES:
        importlib.import_module("onnx.backend.test.case.node." + m)
    lines = []
    for case in node_cases._NodeTestCases:
        if len(case.model.graph.node) != 1 or not case.data_sets:
            continue
        inputs, outputs = case.data_sets[0]
        if not isinstance(inputs, list) or len(outputs) != 1 or len(case.model.graph.output) != 1:
            continue
        if not all(isinstance(a, np.ndarray) for a in list(inputs) + list(outputs)):
            continue
        if inputs[0].dtype != np.float32 or outputs[0].dtype != np.float32 or inputs[0].size > 1024:
            continue  # (the larger cases repeat the small ones' attributes on 32 x 32 maps)
        model = onnx.ModelProto()
        model.CopyFrom(case.model)
        g = model.graph
        names = [v.name for v in g.input]
        for name, value in zip(names[1:], inputs[1:]):
            g.initializer.append(onnx.numpy_helper.from_array(np.asarray(value), name))
        keep = [v for v in g.input if v.name == names[0]]
        del g.input[:]
        g.input.extend(keep)
        if g.node[0].op_type == "Softmax" and inputs[0].ndim == 2:
            softmax = onnx.NodeProto()
            softmax.CopyFrom(g.node[0])
            softmax.input[0] = names[0] + "_flat"
            flat = onnx.helper.make_node("Flatten", [names[0]], [names[0] + "_flat"], axis=1)
            del g.node[:]
            g.node.extend([flat, softmax])
        onnx.save(model, os.path.join(out, case.name + ".onnx"))
        inputs[0].astype("<f4").tofile(os.path.join(out, case.name + ".input.bin"))
        outputs[0].astype("<f4").tofile(os.path.join(out, case.name + ".output.bin"))
        shape = lambda a: "x".join(map(str, a.shape)) or "scalar"
        lines.append("%s %s %s" % (case.name, shape(inputs[0]), shape(outputs[0])))
    with open(os.path.join(out, "MANIFEST"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/onnx/node")
