"""A stand-in IP camera for Vigil's stream tests: an RTSP server (GStreamer's) that plays a
generated test pattern as Motion JPEG over RTP at rtsp://127.0.0.1:PORT/live, as many cameras do.

Usage: /usr/bin/python3 rtsp-camera.py PORT [FPS]
It prints "ready" once it listens, and serves until killed.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

port = sys.argv[1]
fps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    f"( videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=320,height=240,framerate={fps}/1 "
    "! jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26 )"
)
factory.set_shared(True)
server.get_mount_points().add_factory("/live", factory)
if server.attach(None) == 0:
    sys.exit(f"cannot listen on port {port}")
print("ready", flush=True)
GLib.MainLoop().run()
