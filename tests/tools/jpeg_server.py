#!/usr/bin/python3
"""A stand-in for the common ESP32-CAM firmware the relay pattern serves: it
listens on TCP, and to every connection writes exactly one JPEG and closes.

usage: jpeg_server.py PORT MODE [FILE...]
  MODE normal  one file per connection, in turn
       huge    100 MB of JPEG-looking bytes, then close (must be cut off)
       hang    the start of a JPEG, then never close (must be cut off)
Listens on 127.0.0.1 only; stops on SIGTERM.
"""
import itertools
import socket
import socketserver
import sys
import time

PORT, MODE, FILES = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
frames = itertools.cycle([open(f, "rb").read() for f in FILES]) if FILES else None


class OneFrame(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            if MODE == "normal":
                self.request.sendall(next(frames))
            elif MODE == "huge":
                chunk = b"\xff\xd8" + b"\x00" * (1 << 20)
                for _ in range(100):
                    self.request.sendall(chunk)
            elif MODE == "hang":
                self.request.sendall(b"\xff\xd8\xff\xe0")
                time.sleep(3600)
        except OSError:
            pass  # the base unit cut us off: that is the point


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", PORT), OneFrame).serve_forever()
