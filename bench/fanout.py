#!/usr/bin/python3
"""N clients connect at once to a camera's raw TCP port; each reads until the
base unit closes. Prints one JSON line: how many got a whole JPEG (SOI..EOI)
and how long each took, connect to close."""
import json
import socket
import sys
import threading
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
results = [None] * n


def client(i):
    t0 = time.monotonic()
    data = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        pass
    whole = data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    results[i] = (whole, (time.monotonic() - t0) * 1000, len(data))


threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
t0 = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
total = (time.monotonic() - t0) * 1000
times = sorted(r[1] for r in results)
print(json.dumps({"clients": n, "whole": sum(1 for r in results if r[0]), "bytes": results[0][2],
                  "p50_ms": round(times[n // 2], 2), "p99_ms": round(times[min(n - 1, int(n * 0.99))], 2),
                  "total_ms": round(total, 2)}))
