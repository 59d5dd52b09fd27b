#!/usr/bin/python3
"""notify.py SOCKET LOG: the service manager's side of sd_notify(3), as
systemd has it: a datagram socket at SOCKET; every message it gets is
written to LOG, one line per assignment, "---" between messages."""
import os
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if os.path.exists(path):
    os.unlink(path)
s.bind(path)
with open(log, "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        out.write(msg.rstrip("\n") + "\n---\n")
