"""Drives Vigil with the DeepStack client library from PyPI (deepstack-python), the way Home
Assistant's DeepStack integrations use it, and with the key-less calls CodeProject.AI clients
(Blue Iris) make. Nothing here is Vigil's own request code.

Arguments: host port detector_key faces_key person.jpg face.jpg
Prints what it saw as one JSON line."""
import json
import sys

import requests
from deepstack.core import DeepstackException, DeepstackFace, DeepstackObject

host, port, detector_key, faces_key, person_photo, face_photo = sys.argv[1:7]
port = int(port)
seen = {}

with open(person_photo, "rb") as f:
    person = f.read()
with open(face_photo, "rb") as f:
    face = f.read()

# Objects, with the key in the form (multipart: the library sends fields before the file).
objects = DeepstackObject(ip=host, port=port, api_key=detector_key, timeout=60, min_confidence=0.5)
seen["object_labels"] = sorted({p["label"] for p in objects.detect(person)})

# Faces: register, list (urlencoded, api_key only), recognize.
faces = DeepstackFace(ip=host, port=port, api_key=faces_key, timeout=60)
seen["register"] = faces.register("ada", face)
seen["registered"] = faces.get_registered_faces()
seen["recognized"] = [p.get("userid") for p in faces.recognize(face)]

# A wrong key is refused even from a network open to key-less clients.
wrong = DeepstackFace(ip=host, port=port, api_key="vgl_wrong", timeout=60)
try:
    wrong.get_registered_faces()
    seen["wrong_key"] = "accepted"
except (DeepstackException, KeyError):
    seen["wrong_key"] = "refused"

# CodeProject.AI clients send no key at all: from an open network, they are served.
keyless = DeepstackFace(ip=host, port=port, timeout=60)
seen["keyless_registered"] = keyless.get_registered_faces()
answer = requests.post(f"http://{host}:{port}/v1/vision/detection", files={"image": person}, timeout=60)
seen["keyless_detection_status"] = answer.status_code
seen["keyless_detection_success"] = answer.json().get("success")

print(json.dumps(seen))
