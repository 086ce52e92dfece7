"""Builds an ONNX model in the layout of an Ultralytics YOLOv8 export out of the YOLOX-Nano weights,
so Vigil's `yolov8` detector is tested on a real model (no YOLOv8 weights are published on PyPI).

Usage: yolov8_layout_from_yolox.py YOLOX_MODEL OUTPUT

The result takes what an Ultralytics export takes: `images` [1,3,416,416], RGB planes scaled to
0-1 (Vigil letterboxes them in the centre for this layout); and gives what it gives: `output0`
[1, 84, 3549], per anchor column the box centre and size in input pixels and 80 class scores, no
objectness; its metadata carries `names` as Ultralytics writes them. Inside, the YOLOX graph runs
on the input turned back into BGR 0-255, and its grid output is decoded by added ops.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from onnxruntime_reference import COCO  # noqa: E402

source, target = sys.argv[1], sys.argv[2]
model = onnx.load(source)
graph = model.graph
yolox_input = graph.input[0].name
yolox_output = graph.output[0].name
side = graph.input[0].type.tensor_type.shape.dim[2].dim_value

grids, strides = [], []
for stride in (8, 16, 32):
    cells = side // stride
    xv, yv = np.meshgrid(np.arange(cells), np.arange(cells))
    grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
    strides.append(np.full((cells * cells, 1), stride))
grid = np.concatenate(grids).astype(np.float32)[None]
stride = np.concatenate(strides).astype(np.float32)[None]

constants = {
    "v8_scale": np.array(255, dtype=np.float32),
    "v8_bgr": np.array([2, 1, 0], dtype=np.int64),
    "v8_grid": grid,
    "v8_stride": stride,
    "v8_xy_start": np.array([0], dtype=np.int64), "v8_xy_end": np.array([2], dtype=np.int64),
    "v8_wh_end": np.array([4], dtype=np.int64), "v8_obj_end": np.array([5], dtype=np.int64),
    "v8_cls_end": np.array([85], dtype=np.int64), "v8_axis": np.array([2], dtype=np.int64),
}
graph.initializer.extend(numpy_helper.from_array(value, name) for name, value in constants.items())

# The new input feeds the YOLOX graph through x * 255 in BGR order.
for node in graph.node:
    node.input[:] = ["v8_bgr_input" if name == yolox_input else name for name in node.input]
before = [
    helper.make_node("Mul", ["images", "v8_scale"], ["v8_scaled"]),
    helper.make_node("Gather", ["v8_scaled", "v8_bgr"], ["v8_bgr_input"], axis=1),
]
after = [
    helper.make_node("Slice", [yolox_output, "v8_xy_start", "v8_xy_end", "v8_axis"], ["v8_xy_raw"]),
    helper.make_node("Slice", [yolox_output, "v8_xy_end", "v8_wh_end", "v8_axis"], ["v8_wh_raw"]),
    helper.make_node("Slice", [yolox_output, "v8_wh_end", "v8_obj_end", "v8_axis"], ["v8_objectness"]),
    helper.make_node("Slice", [yolox_output, "v8_obj_end", "v8_cls_end", "v8_axis"], ["v8_classes"]),
    helper.make_node("Add", ["v8_xy_raw", "v8_grid"], ["v8_xy_cells"]),
    helper.make_node("Mul", ["v8_xy_cells", "v8_stride"], ["v8_xy"]),
    helper.make_node("Exp", ["v8_wh_raw"], ["v8_wh_cells"]),
    helper.make_node("Mul", ["v8_wh_cells", "v8_stride"], ["v8_wh"]),
    helper.make_node("Mul", ["v8_classes", "v8_objectness"], ["v8_scores"]),
    helper.make_node("Concat", ["v8_xy", "v8_wh", "v8_scores"], ["v8_rows"], axis=2),
    helper.make_node("Transpose", ["v8_rows"], ["output0"], perm=[0, 2, 1]),
]
nodes = before + list(graph.node) + after
del graph.node[:]
graph.node.extend(nodes)
del graph.input[:]
graph.input.append(helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, side, side]))
del graph.output[:]
graph.output.append(helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 84, sum((side // s) ** 2 for s in (8, 16, 32))]))
del model.metadata_props[:]
names = "{" + ", ".join(f"{index}: '{label}'" for index, label in enumerate(COCO)) + "}"
model.metadata_props.append(onnx.StringStringEntryProto(key="names", value=names))
onnx.checker.check_model(model)
onnx.save(model, target)
