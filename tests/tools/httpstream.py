#!/usr/bin/env python3
"""Reads the dashboard's streams the way a browser would, over a plain socket.

  httpstream.py mjpeg URL SECONDS [HEADER...]
      reads multipart/x-mixed-replace parts for SECONDS; prints one JSON line:
      {"parts": N, "distinct": N, "valid": N, "bytes": N, "status": 200}
  httpstream.py stall URL SECONDS [HEADER...]
      sends the request, reads nothing at all for SECONDS (a viewer whose
      link stalled), then prints how many bytes were waiting.
  httpstream.py sse URL SECONDS [HEADER...]
      prints each SSE event as it arrives: "<ms since start> <event> <data>".

HEADER is "Name: value" (a cookie or an Authorization header).
"""
import hashlib
import json
import socket
import sys
import time
from urllib.parse import urlsplit


def connect(url, headers):
    u = urlsplit(url)
    s = socket.create_connection((u.hostname, u.port or 80), timeout=10)
    req = f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n"
    for h in headers:
        req += h + "\r\n"
    s.sendall((req + "\r\n").encode())
    return s


class Reader:
    """Response head, then the body with chunked transfer encoding undone."""

    def __init__(self, sock):
        self.s = sock
        self.raw = b""
        self.body = b""
        while b"\r\n\r\n" not in self.raw:
            self.more_raw()
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"

    def more_raw(self):
        d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.raw += d

    def more(self):
        if not self.chunked:
            if not self.raw:
                self.more_raw()
            self.body += self.raw
            self.raw = b""
            return
        while b"\r\n" not in self.raw:
            self.more_raw()
        size_line, rest = self.raw.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            raise EOFError
        while len(rest) < size + 2:
            self.more_raw()
            size_line, rest = self.raw.split(b"\r\n", 1)
        self.body += rest[:size]
        self.raw = rest[size + 2:]


def mjpeg(url, seconds, headers):
    r = Reader(connect(url, headers))
    out = {"status": r.status, "parts": 0, "distinct": 0, "valid": 0, "bytes": 0}
    seen = set()
    end = time.monotonic() + seconds
    r.s.settimeout(1)
    try:
        while time.monotonic() < end:
            # a part: --frame, headers, blank line, Content-Length bytes, CRLF
            while b"\r\n\r\n" not in r.body:
                r.more()
            head, rest = r.body.split(b"\r\n\r\n", 1)
            length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
            while len(rest) < length + 2:
                r.more()
                head, rest = r.body.split(b"\r\n\r\n", 1)
            jpeg = rest[:length]
            r.body = rest[length + 2:]
            out["parts"] += 1
            out["bytes"] += length
            out["valid"] += jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
            seen.add(hashlib.md5(jpeg).hexdigest())
    except (EOFError, socket.timeout, OSError):
        pass
    out["distinct"] = len(seen)
    print(json.dumps(out))


def stall(url, seconds, headers):
    s = connect(url, headers)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    time.sleep(seconds)
    s.setblocking(False)
    waiting = 0
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            waiting += len(d)
    except BlockingIOError:
        pass
    print(json.dumps({"waiting": waiting}))


def sse(url, seconds, headers):
    t0 = time.monotonic()
    r = Reader(connect(url, headers))
    print(f"0 status {r.status}", flush=True)
    r.s.settimeout(0.5)
    while time.monotonic() - t0 < seconds:
        try:
            r.more()
        except socket.timeout:
            continue
        except EOFError:
            break
        while b"\n\n" in r.body:
            ev, r.body = r.body.split(b"\n\n", 1)
            name, data = "message", ""
            for line in ev.decode().split("\n"):
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
            if data:
                print(f"{(time.monotonic() - t0) * 1000:.0f} {name} {data}", flush=True)


if __name__ == "__main__":
    mode, url, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    {"mjpeg": mjpeg, "stall": stall, "sse": sse}[mode](url, secs, sys.argv[4:])
