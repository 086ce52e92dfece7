"""Times the same model through Python's onnxruntime, as the reference for Vigil's figures.

Usage: python onnxruntime_reference.py MODEL IMAGE THREADS RUNS
Preprocessing is the model's own (YOLOX): letterbox to the input size at the top left, pad 114,
BGR planes of raw 0-255 floats. Prints the median and p99 of session.run in milliseconds.
"""
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

model, image_path, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.inter_op_num_threads = 1
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
side = session.get_inputs()[0].shape[2]

image = Image.open(image_path).convert("RGB")
scale = min(side / image.width, side / image.height)
resized = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
canvas = np.full((side, side, 3), 114, dtype=np.float32)
canvas[: resized.height, : resized.width] = np.asarray(resized, dtype=np.float32)[:, :, ::-1]
tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None])
name = session.get_inputs()[0].name

session.run(None, {name: tensor})  # warm-up, as Vigil's first run is not counted either
times = []
for _ in range(runs):
    start = time.perf_counter()
    session.run(None, {name: tensor})
    times.append((time.perf_counter() - start) * 1000)
times.sort()
print(f"onnxruntime {ort.__version__} inference_ms median {statistics.median(times):.2f} p99 {times[min(len(times) - 1, int(len(times) * 0.99))]:.2f}")
