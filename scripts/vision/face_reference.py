"""The reference run of Vigil's face models: OpenCV's own YuNet detector (FaceDetectorYN) and SFace
recognizer (FaceRecognizerSF, with its alignCrop), for the parity check in the test suite.

Usage: face_reference.py YUNET SFACE IMAGE...   JSON: per image, each face's box [x1, y1, x2, y2],
score, five landmarks and L2-normalised 128-d embedding.

The model file declares a fixed 640 x 640 input, which ONNX Runtime holds Vigil to; OpenCV would
run it at the image's own size, where YuNet places landmarks a few pixels differently. So the image is
given to OpenCV as Vigil gives it to the model (resized with int() sizes by min(640 / w, 640 / h),
at the top left of a black 640 x 640 square), and the faces are mapped back by that ratio before
OpenCV aligns them on the original image.
"""
import json
import sys

import cv2
import numpy as np

yunet, sface, images = sys.argv[1], sys.argv[2], sys.argv[3:]
detector = cv2.FaceDetectorYN.create(yunet, "", (640, 640), 0.8, 0.3, 5000)
recognizer = cv2.FaceRecognizerSF.create(sface, "")
results = []
for path in images:
    image = cv2.imread(path)
    height, width = image.shape[:2]
    ratio = min(640 / width, 640 / height)
    canvas = np.zeros((640, 640, 3), np.uint8)
    canvas[:int(height * ratio), :int(width * ratio)] = cv2.resize(image, (int(width * ratio), int(height * ratio)))
    _, faces = detector.detect(canvas)
    found = []
    for face in [] if faces is None else faces:
        face = face.copy()
        face[:14] /= ratio
        embedding = recognizer.feature(recognizer.alignCrop(image, face)).flatten()
        found.append({
            "box": [float(face[0]), float(face[1]), float(face[0] + face[2]), float(face[1] + face[3])],
            "score": float(face[14]),
            "landmarks": [[float(face[4 + 2 * i]), float(face[5 + 2 * i])] for i in range(5)],
            "embedding": (embedding / np.linalg.norm(embedding)).tolist(),
        })
    results.append({"image": path, "faces": found})
json.dump(results, sys.stdout)
