#!/usr/bin/env python3
"""marked.py NAME VALUE [PID...]: lists "pid command" of every running process
whose environment has NAME=VALUE (the test runner's and each suite's mark, which
everything they start inherits), leaving out itself, its parent and the PIDs given."""
import os
import sys

mark = (sys.argv[1] + "=" + sys.argv[2]).encode()
skip = {os.getpid(), os.getppid()} | {int(p) for p in sys.argv[3:]}
for d in os.listdir("/proc"):
    if not d.isdigit() or int(d) in skip:
        continue
    try:
        with open(f"/proc/{d}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                continue  # a zombie has ended; its parent has not reaped it yet
        with open(f"/proc/{d}/environ", "rb") as f:
            if mark not in f.read().split(b"\0"):
                continue
        with open(f"/proc/{d}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except (OSError, IndexError):
        continue
    print(d, cmd[:200])
