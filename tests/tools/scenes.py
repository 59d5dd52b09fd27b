#!/usr/bin/env python3
"""Test scenes for motion detection, as JPEGs (cjpeg) in DIR:

  scenes.py DIR
    moving-NNN.jpg  30 still frames (JPEG noise: each at another quality),
                    15 with a bright square crossing the picture, 1 still
    noise-NNN.jpg   60 still frames: JPEG noise and +-4 of pixel noise
    ramp-NNN.jpg    60 still frames, each a little brighter (+1 of 255)

320x240, the same textured room in all of them."""
import os
import random
import subprocess
import sys

W, H = 320, 240
out = sys.argv[1]
random.seed(11)
room = bytearray()
for y in range(H):
    for x in range(W):
        v = 50 + ((x // 16 + y // 16) % 2) * 40 + x * 50 // W
        room += bytes((v, v, min(255, v + 10)))
room = bytes(room)


def write(name, pixels, quality):
    ppm = b"P6\n%d %d\n255\n" % (W, H) + pixels
    jpg = subprocess.run(["cjpeg", "-quality", str(quality)], input=ppm, capture_output=True, check=True).stdout
    with open(os.path.join(out, name), "wb") as f:
        f.write(jpg)


def square(pixels, sx, sy, size=48):
    b = bytearray(pixels)
    row = bytes((240, 240, 230)) * size
    for y in range(sy, min(H, sy + size)):
        o = (y * W + sx) * 3
        b[o:o + len(row)] = row[:max(0, (W - sx) * 3)]
    return bytes(b)


def noisy(pixels, n):
    b = bytearray(pixels)
    for i in range(0, len(b), 7):
        b[i] = max(0, min(255, b[i] + random.randint(-n, n)))
    return bytes(b)


qualities = [55, 70, 85, 60, 90, 75]
for i in range(30):
    write("moving-%03d.jpg" % i, room, qualities[i % len(qualities)])
for i in range(15):
    write("moving-%03d.jpg" % (30 + i), square(room, 10 + i * 18, 90), 75)
write("moving-045.jpg", room, 75)
variants = [noisy(room, 4) for _ in range(6)]
for i in range(60):
    write("noise-%03d.jpg" % i, variants[i % len(variants)], qualities[i % len(qualities)])
for i in range(60):
    write("ramp-%03d.jpg" % i, room.translate(bytes(min(255, v + i) for v in range(256))), 75)
