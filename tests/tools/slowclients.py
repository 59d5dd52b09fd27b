#!/usr/bin/python3
"""Hostile HTTP clients for the dashboard's tests.

  slowclients.py trickle HOST PORT SRC N INTERVAL OUT
      opens N connections from address SRC and never finishes their headers:
      one more header line on each every INTERVAL seconds, until killed.
      OUT gets, after each round, how many connections the server accepted
      and how many are still open ("accepted A open O").
  slowclients.py silent HOST PORT SRC
      one connection that sends nothing; prints how many seconds passed
      before the server closed it.
"""
import resource
import socket
import sys
import time


def connect(host, port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(2)
    s.connect((host, port))
    return s


def alive(s):
    """Still open at the server? A closed socket reads EOF (or an error)."""
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)


def trickle(host, port, src, n, interval, out):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    socks, accepted = [], 0
    for _ in range(n):
        try:
            s = connect(host, port, src)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            pass
    time.sleep(0.5)
    accepted = sum(1 for s in socks if alive(s))
    k = 0
    while True:
        opened = 0
        for s in socks:
            try:
                s.sendall(b"X-Slow-%d: 1\r\n" % k)
                opened += alive(s)
            except OSError:
                pass
        with open(out, "w") as f:
            f.write("accepted %d open %d\n" % (accepted, opened))
        k += 1
        time.sleep(interval)


def silent(host, port, src):
    s = connect(host, port, src)
    t0 = time.monotonic()
    s.settimeout(600)
    try:
        s.recv(1)
    except OSError:
        pass
    print("%.1f" % (time.monotonic() - t0))


def main(argv):
    if len(argv) == 8 and argv[1] == "trickle":
        trickle(argv[2], int(argv[3]), argv[4], int(argv[5]), float(argv[6]), argv[7])
    elif len(argv) == 5 and argv[1] == "silent":
        silent(argv[2], int(argv[3]), argv[4])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
