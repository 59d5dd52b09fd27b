#!/usr/bin/env python3
"""An emulation of the stock ESP32-CAM firmware's HTTP interface (Espressif's
CameraWebServer example, esp_http_server), byte for byte where it matters:

  GET /capture on PORT       one JPEG: Content-Type image/jpeg, Content-Length,
                             Content-Disposition inline; filename=capture.jpg,
                             Access-Control-Allow-Origin *, X-Timestamp
  GET /stream on STREAM_PORT multipart/x-mixed-replace;boundary=
                             123456789000000000000987654321, chunked (one
                             chunk per httpd_resp_send_chunk: the "\\r\\n--B\\r\\n"
                             delimiter, the part's headers, the JPEG), X-Framerate

  esp32cam.py PORT STREAM_PORT MODE FPS JPEG... [--digest USER:PASSWORD]
      [--tls CERT KEY] [--once] [--log FILE]

MODE: normal; stall (one frame, then silence); lie (every third part's
Content-Length 1000 bytes too long); huge (a part that claims and sends
100 MB; /capture sends 100 MB); midframe (every connection closed half way
through its first frame). With --digest every request needs HTTP Digest
(MD5, qop=auth) as user:password; with --tls both ports speak HTTPS. With
--once a stream plays the JPEGs once and then repeats the last; --log FILE
gets "INDEX UNIX_TIME" for every part sent, and "capture CLIENT_PORT" for
every snapshot."""
import hashlib
import os
import socket
import socketserver
import ssl
import sys
import threading
import time

BOUNDARY = "123456789000000000000987654321"
args = sys.argv[1:]
digest = tls = log = None
once = "--once" in args
if once:
    args.remove("--once")
if "--log" in args:
    i = args.index("--log")
    log = open(args[i + 1], "a", buffering=1)
    del args[i:i + 2]
if "--digest" in args:
    i = args.index("--digest")
    digest = args[i + 1].split(":", 1)
    del args[i:i + 2]
if "--tls" in args:
    i = args.index("--tls")
    tls = (args[i + 1], args[i + 2])
    del args[i:i + 3]
port, stream_port, mode, fps = int(args[0]), int(args[1]), args[2], float(args[3])
frames = [open(p, "rb").read() for p in args[4:]]
REALM = "esp32cam"
NONCE = os.urandom(8).hex()
counter = [0]


def authorised(head):
    if not digest:
        return True
    line = next((l for l in head.split("\r\n") if l.lower().startswith("authorization: digest ")), None)
    if not line:
        return False
    fields = {}
    for part in line.split(" ", 2)[2].split(","):
        if "=" in part:
            k, v = part.strip().split("=", 1)
            fields[k] = v.strip('"')
    try:
        ha1 = hashlib.md5(f"{digest[0]}:{REALM}:{digest[1]}".encode()).hexdigest()
        ha2 = hashlib.md5(f"GET:{fields['uri']}".encode()).hexdigest()
        want = hashlib.md5(f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:auth:{ha2}".encode()).hexdigest()
        return fields["username"] == digest[0] and fields["nonce"] == NONCE and fields["response"] == want
    except KeyError:
        return False


class Handler(socketserver.BaseRequestHandler):
    def send(self, b):
        self.request.sendall(b)

    def chunk(self, b):
        self.send(b"%X\r\n" % len(b) + b + b"\r\n")

    def handle(self):
        try:
            self.serve()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    def serve(self):
        # HTTP/1.1 keeps the connection: esp_http_server answers request
        # after request on it (a stream, once started, is the last)
        rest = b""
        while self.one(rest) is not None:
            rest = self.rest

    def one(self, head):
        while b"\r\n\r\n" not in head:
            d = self.request.recv(4096)
            if not d:
                return None
            head += d
        head, self.rest = head.split(b"\r\n\r\n", 1)
        head += b"\r\n\r\n"
        text = head.decode("latin-1")
        path = text.split(" ")[1] if " " in text else "/"
        if not authorised(text):
            body = b"401 Unauthorized"
            self.send(("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"%s\", qop=\"auth\", "
                       "nonce=\"%s\", algorithm=MD5\r\nContent-Length: %d\r\n\r\n" % (REALM, NONCE, len(body))).encode()
                      + body)
            return True
        local = self.request.getsockname()[1]
        if local == port and path == "/capture":
            return self.capture()
        if local == stream_port and path == "/stream":
            return self.stream()
        self.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        return True

    def capture(self):
        n = counter[0]
        counter[0] += 1
        jpg = frames[n % len(frames)]
        if mode == "huge":
            size = 100 << 20
            self.send(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % size)
            block = b"\xff" * 65536
            for _ in range(size // len(block)):
                self.send(block)
            return None
        self.send(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n"
                  b"Content-Disposition: inline; filename=capture.jpg\r\nAccess-Control-Allow-Origin: *\r\n"
                  b"X-Timestamp: %d.%06d\r\n\r\n" % (len(jpg), n, n))
        if mode == "midframe":
            self.send(jpg[:len(jpg) // 2])
            return None
        self.send(jpg)
        if log:
            log.write("capture %d\n" % self.request.getpeername()[1])	# the client's port: a kept connection repeats
        return True

    def stream(self):
        self.send(b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=" + BOUNDARY.encode() +
                  b"\r\nTransfer-Encoding: chunked\r\nAccess-Control-Allow-Origin: *\r\nX-Framerate: 60\r\n\r\n")
        i = 0
        while True:
            jpg = frames[min(i, len(frames) - 1) if once else i % len(frames)]
            length = len(jpg)
            if mode == "lie" and i % 3 == 2:
                length += 1000
            if mode == "huge" and i == 1:
                length = 100 << 20
            self.chunk(("\r\n--" + BOUNDARY + "\r\n").encode())
            self.chunk(b"Content-Type: image/jpeg\r\nContent-Length: %d\r\nX-Timestamp: %d.%06d\r\n\r\n"
                       % (length, i, i))
            if mode == "huge" and i == 1:
                block = b"\x00" * 65536
                for _ in range(length // len(block)):
                    self.chunk(block)
            elif mode == "midframe":
                self.chunk(jpg[:len(jpg) // 2])
                return
            else:
                self.chunk(jpg)
            if log:
                log.write("%d %.6f\n" % (i, time.time()))
            i += 1
            if mode == "stall" and i == 1:
                time.sleep(3600)
            time.sleep(1 / fps)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def get_request(self):
        s, a = super().get_request()
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            s = ctx.wrap_socket(s, server_side=True)
        return s, a


servers = [Server(("127.0.0.1", p), Handler) for p in (port, stream_port)]
for s in servers[1:]:
    threading.Thread(target=s.serve_forever, daemon=True).start()
print("ready", flush=True)
servers[0].serve_forever()
