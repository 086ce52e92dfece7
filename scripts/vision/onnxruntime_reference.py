"""The reference run of Vigil's default object model: the same ONNX file through Python's
onnxruntime, with YOLOX's official preprocessing and decoding, for the parity check in the test
suite and for the side-by-side timing of `make bench`.

Usage:
  onnxruntime_reference.py detect MODEL IMAGE...        JSON: each image's detections (score >= 0.1)
  onnxruntime_reference.py time MODEL IMAGE THREADS RUNS  median and p99 of session.run in ms

Preprocessing as YOLOX's `preproc`: cv2.imread (BGR), cv2.resize INTER_LINEAR by the ratio
min(side / h, side / w) with int() sizes, pasted at the top left of a 114-grey square, CHW float32
of raw 0-255 values. Decoding as YOLOX's `demo_postprocess` (grids of strides 8, 16, 32) and its
class-aware `multiclass_nms` (IoU 0.45), boxes divided by the ratio.
"""
import json
import statistics
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort

COCO = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light", "fire hydrant",
    "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe",
    "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
    "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl",
    "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave",
    "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
]


def session(model, threads=2):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def preproc(image, side):
    padded = np.ones((side, side, 3), dtype=np.uint8) * 114
    ratio = min(side / image.shape[0], side / image.shape[1])
    resized = cv2.resize(image, (int(image.shape[1] * ratio), int(image.shape[0] * ratio)), interpolation=cv2.INTER_LINEAR)
    padded[: resized.shape[0], : resized.shape[1]] = resized.astype(np.uint8)
    return np.ascontiguousarray(padded.transpose(2, 0, 1), dtype=np.float32)[None], ratio


def demo_postprocess(outputs, side):
    grids, strides = [], []
    for stride in (8, 16, 32):
        cells = side // stride
        xv, yv = np.meshgrid(np.arange(cells), np.arange(cells))
        grids.append(np.stack((xv, yv), 2).reshape(1, -1, 2))
        strides.append(np.full((1, cells * cells, 1), stride))
    grids, strides = np.concatenate(grids, 1), np.concatenate(strides, 1)
    outputs[..., :2] = (outputs[..., :2] + grids) * strides
    outputs[..., 2:4] = np.exp(outputs[..., 2:4]) * strides
    return outputs


def nms(boxes, scores, threshold):
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        xx1, yy1 = np.maximum(x1[i], x1[order[1:]]), np.maximum(y1[i], y1[order[1:]])
        xx2, yy2 = np.minimum(x2[i], x2[order[1:]]), np.minimum(y2[i], y2[order[1:]])
        overlap = np.maximum(0.0, xx2 - xx1 + 1) * np.maximum(0.0, yy2 - yy1 + 1)
        iou = overlap / (areas[i] + areas[order[1:]] - overlap)
        order = order[np.where(iou <= threshold)[0] + 1]
    return keep


def detect(model, images):
    run = session(model)
    side = run.get_inputs()[0].shape[2]
    answer = []
    for path in images:
        image = cv2.imread(path)
        tensor, ratio = preproc(image, side)
        output = demo_postprocess(run.run(None, {run.get_inputs()[0].name: tensor})[0], side)[0]
        boxes = np.empty_like(output[:, :4])
        boxes[:, 0] = output[:, 0] - output[:, 2] / 2
        boxes[:, 1] = output[:, 1] - output[:, 3] / 2
        boxes[:, 2] = output[:, 0] + output[:, 2] / 2
        boxes[:, 3] = output[:, 1] + output[:, 3] / 2
        boxes /= ratio
        scores = output[:, 4:5] * output[:, 5:]
        found = []
        for index, label in enumerate(COCO):
            candidates = scores[:, index] > 0.1
            if not candidates.any():
                continue
            class_boxes, class_scores = boxes[candidates], scores[candidates, index]
            for kept in nms(class_boxes, class_scores, 0.45):
                x1, y1, x2, y2 = class_boxes[kept]
                height, width = image.shape[:2]
                found.append({"label": label, "confidence": float(class_scores[kept]),
                              "box": [float(max(0, min(x1, width))), float(max(0, min(y1, height))),
                                      float(max(0, min(x2, width))), float(max(0, min(y2, height)))]})
        answer.append({"image": path, "detections": found})
    print(json.dumps(answer))


def timing(model, image_path, threads, runs):
    run = session(model, threads)
    tensor, _ = preproc(cv2.imread(image_path), run.get_inputs()[0].shape[2])
    name = run.get_inputs()[0].name
    run.run(None, {name: tensor})  # warm-up, as Vigil's first run is not counted either
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run.run(None, {name: tensor})
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"onnxruntime {ort.__version__} inference_ms median {statistics.median(times):.2f} p99 {p99:.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "detect":
        detect(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "time":
        timing(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(__doc__)
