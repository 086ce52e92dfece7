"""Writes a small ONNX face recognizer shaped as an ArcFace export: [1, 3, 112, 112] in, a 512-d
embedding out (8 x 8 average pooling, then a fixed random projection). It recognizes nothing a
real model would, but a photo and a re-encoded copy of it give nearly the same vector, which is
what the tests of a second embedding model need: its own width, version and indexes."""
import sys

import numpy
import onnx
from onnx import TensorProto, helper, numpy_helper

width = int(sys.argv[2]) if len(sys.argv) > 2 else 512
weights = numpy.random.default_rng(7).standard_normal((3 * 14 * 14, width)).astype(numpy.float32)
graph = helper.make_graph(
    [
        helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weights"], ["embedding"]),
    ],
    "face_embedder",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 112, 112])],
    [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", width])],
    [numpy_helper.from_array(weights, "weights")],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
