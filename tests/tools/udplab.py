#!/usr/bin/python3
"""A hostile network for the intercom, on loopback. It knows nothing of the
protocol beyond the type byte of the clear header, so it works against any
version of the programs.

  udplab.py relay LISTEN_PORT TARGET_PORT DELAY_MS CAPTURE
      forwards datagrams between a device (whoever writes to LISTEN_PORT) and
      127.0.0.1:TARGET_PORT, each way DELAY_MS late (a round trip of twice
      that), and appends every HELLO the device sends to CAPTURE (hex lines)
  udplab.py replay TARGET_PORT CAPTURE RATE ANSWERS
      sends the captured HELLOs to 127.0.0.1:TARGET_PORT, round robin, RATE a
      second, from a socket of its own, until killed; ANSWERS keeps how many
      answers of each type came back ("2 5" : five WELCOMEs)
  udplab.py junk TARGET_PORT DEVICE_ID RATE
      sends datagrams that look like DEVICE_ID's session traffic (a random
      session, no key) RATE a second, until killed
"""
import heapq
import os
import select
import socket
import sys
import time

HELLO = 1


def relay(listen_port, target_port, delay_ms, capture):
    dev_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dev_side.bind(("127.0.0.1", listen_port))
    base_side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    base_side.bind(("127.0.0.1", 0))
    target = ("127.0.0.1", target_port)
    device = None
    due = []  # (when, n, socket, data, address)
    n = 0
    out = open(capture, "a")
    while True:
        timeout = max(0.0, due[0][0] - time.monotonic()) if due else 1.0
        ready, _, _ = select.select([dev_side, base_side], [], [], timeout)
        now = time.monotonic()
        for s in ready:
            data, addr = s.recvfrom(2048)
            n += 1
            if s is dev_side:
                device = addr
                if len(data) > 1 and data[1] == HELLO:
                    out.write(data.hex() + "\n")
                    out.flush()
                heapq.heappush(due, (now + delay_ms / 1000, n, base_side, data, target))
            elif device:
                heapq.heappush(due, (now + delay_ms / 1000, n, dev_side, data, device))
        while due and due[0][0] <= time.monotonic():
            _, _, s, data, addr = heapq.heappop(due)
            s.sendto(data, addr)


def paced(rate):
    gap = 1.0 / rate
    t = time.monotonic()
    while True:
        yield
        t += gap
        time.sleep(max(0.0, t - time.monotonic()))


def replay(target_port, capture, rate, answers):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    i = 0
    seen = {}
    for _ in paced(rate):
        hellos = [bytes.fromhex(line) for line in open(capture).read().split()]
        if hellos:
            s.sendto(hellos[i % len(hellos)], ("127.0.0.1", target_port))
            i += 1
        try:
            while True:
                data = s.recv(2048)  # whatever the base answers, a replayer cannot use
                if len(data) > 1:
                    seen[data[1]] = seen.get(data[1], 0) + 1
                    with open(answers + ".new", "w") as f:
                        f.write("".join("%d %d\n" % kv for kv in sorted(seen.items())))
                    os.replace(answers + ".new", answers)
        except BlockingIOError:
            pass


def junk(target_port, dev_id, rate):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    head = bytes([1, 4, 0, len(dev_id)]) + dev_id.encode()
    for _ in paced(rate):
        s.sendto(head + os.urandom(8) + (1).to_bytes(8, "big") + os.urandom(16), ("127.0.0.1", target_port))
        try:
            while True:
                s.recv(2048)
        except BlockingIOError:
            pass


def main(argv):
    if len(argv) == 6 and argv[1] == "relay":
        relay(int(argv[2]), int(argv[3]), float(argv[4]), argv[5])
    elif len(argv) == 6 and argv[1] == "replay":
        replay(int(argv[2]), argv[3], float(argv[4]), argv[5])
    elif len(argv) == 5 and argv[1] == "junk":
        junk(int(argv[2]), argv[3], float(argv[4]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
