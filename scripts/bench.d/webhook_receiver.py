"""A webhook receiver for the alert benchmark: checks each request's HMAC signature and records
when it arrived (epoch seconds) with the alert's event id, one line per request.

Usage: webhook_receiver.py PORT SECRET OUTPUT
"""
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, secret, output = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
log = open(output, "a", buffering=1)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        arrived = time.time()
        signed = self.headers["X-Vigil-Timestamp"].encode() + b"." + body
        expected = "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, self.headers.get("X-Vigil-Signature", ""))
        alert = json.loads(body)["alert"]
        log.write(f"{alert['event_id'].lower()} {arrived:.6f} {'signed' if valid else 'unsigned'}\n")
        self.send_response(200 if valid else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
