"""Time from uploading a frame to its fast-path event arriving on the WebSocket, per camera."""
import asyncio
import http.client
import json
import statistics
import sys
import time

from websockets.asyncio.client import connect

port, key, cameras_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cameras = [line.split() for line in open(cameras_file).read().splitlines() if line.strip()]  # id token
frame = open("/usr/share/darknet/data/person.jpg", "rb").read()


def upload(token):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("POST", "/api/v1/ingest/frame", body=frame,
                       headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    response.read()
    if response.status not in (200, 201, 202):
        raise SystemExit(f"upload failed: {response.status}")


async def main():
    latencies = {}
    async with connect(f"ws://127.0.0.1:{port}/api/v1/ws", additional_headers={"X-API-Key": key}, max_size=None) as socket:
        hello = json.loads(await socket.recv())
        assert hello["type"] == "hello", hello
        for camera_id, token in cameras:
            started = time.perf_counter()
            await asyncio.to_thread(upload, token)
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), timeout=30))
                if message["type"] == "event.created" and message["data"]["camera_id"].lower() == camera_id.lower():
                    latencies[camera_id.lower()] = (time.perf_counter() - started) * 1000
                    break
            await asyncio.sleep(0.3)
    json.dump(latencies, sys.stdout)


asyncio.run(main())
