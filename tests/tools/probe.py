#!/usr/bin/python3
"""A device and an attacker in one tool, built on the independent Python
implementation of the intercom (tests/vectors/intercom_ref.py). Tests use it
to speak to the real base unit: as a genuine device (interoperability), and
to send it garbage, forgeries and replays.

usage: probe.py garbage HOST:PORT COUNT
       probe.py unknown HOST:PORT
       probe.py wrongkey HOST:PORT ID [KEYHEX]   (a hello for ID under a random key, or
            under KEYHEX: another device's real key)
       probe.py session HOST:PORT ID KEYHEX VALUE [SAVE]   (handshake, one reading,
            replays, then a reading from a new source port: the base must follow;
            every datagram sent is written to SAVE, one hex line each)
       probe.py replay HOST:PORT SAVE   (send a saved session again; print what came back)
Prints one line per check; exits 1 if an expectation about the base failed.
"""
import os
import random
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors"))
import intercom_ref as ic  # noqa: E402


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2.0)
    return s


def garbage(base, count):
    s = sock()
    rnd = random.Random(42)
    for i in range(count):
        size = rnd.choice([0, 1, 3, 19, 40, 200, 1199, 1200, 1201, 1400])
        data = bytearray(rnd.getrandbits(8) for _ in range(size))
        if i % 3 == 0 and size >= 40:  # a plausible header, bad everything else
            data[0:4] = bytes([1, rnd.randint(1, 6), 0, 4])
            data[4:8] = b"ghst"
        s.sendto(bytes(data), base)
    print("sent %d garbage datagrams" % count)
    return 0


def hello_for(dev_id, key, sd, seq=1, ticket=0):
    body = ic.hello_body(1, 1, [("level", "cm")])
    return ic.seal(ic.derive("hello", key, dev_id, sd), ic.TO_BASE, ic.HELLO, dev_id, sd, seq, body, ticket)


def ticket_from(s, base, dev_id, key=None):
    """A hello without a ticket is answered with a CHALLENGE: its ticket
    (checked under key when given)."""
    s.sendto(hello_for(dev_id, key or os.urandom(32), 3), base)
    data, _ = s.recvfrom(2000)
    fields, _, _ = ic.parse(data)
    assert fields["type"] == ic.CHALLENGE, "expected a CHALLENGE, got type %d" % fields["type"]
    if key:
        ic.open_(ic.derive("ticket", key, dev_id), ic.TO_DEVICE, data)
    return fields["seq"]


def unknown(base):
    s = sock()
    s.sendto(hello_for("nobody", os.urandom(32), 5), base)
    try:
        s.recvfrom(2000)
        print("FAIL: the base answered an unknown device")
        return 1
    except socket.timeout:
        print("ok: no answer to an unknown device")
        return 0


def wrongkey(base, dev_id, key=None):
    s = sock()
    ticket = ticket_from(s, base, dev_id)  # anyone may ask: it costs the base no crypto
    s.sendto(hello_for(dev_id, key or os.urandom(32), 6, 1, ticket), base)
    try:
        s.recvfrom(2000)
        print("FAIL: the base answered a hello sealed with a wrong key")
        return 1
    except socket.timeout:
        print("ok: no answer to a wrong key")
        return 0


class Recorder:
    """Wraps a socket and keeps every datagram sent, for a replay later."""

    def __init__(self, s, log):
        self.s, self.log = s, log

    def sendto(self, data, addr):
        self.log.append(data)
        return self.s.sendto(data, addr)

    def recvfrom(self, n):
        return self.s.recvfrom(n)


def replay(base, path):
    s = sock()
    s.settimeout(0.5)
    sent = [bytes.fromhex(line.strip()) for line in open(path) if line.strip()]
    for d in sent:
        s.sendto(d, base)
    answers = []
    try:
        while True:
            data, _ = s.recvfrom(2000)
            answers.append(ic.parse(data)[0]["type"])
    except socket.timeout:
        pass
    names = {ic.WELCOME: "welcome", ic.RESET: "reset", ic.KEEPALIVE: "keepalive", ic.CHALLENGE: "challenge"}
    print("replayed %d datagrams; answers: %s" % (len(sent), " ".join(names.get(t, str(t)) for t in answers) or "none"))
    # A replayed HELLO gets at most a CHALLENGE (its ticket was taken), a
    # session the base does not know a RESET: only the real device can use
    # them. A WELCOME would be a handshake started by a replay; anything else
    # a session answering.
    return 0 if all(t in (ic.CHALLENGE, ic.RESET) for t in answers) else 1


def session(base, dev_id, key, value, save=None):
    failed = 0
    log = []
    s = Recorder(sock(), log)
    sd = int.from_bytes(os.urandom(8), "big") | 1
    ticket = ticket_from(s, base, dev_id, key)
    print("ok: a hello without a ticket is challenged")
    hello = hello_for(dev_id, key, sd, 2, ticket)
    s.sendto(hello, base)
    data, _ = s.recvfrom(2000)
    fields, _, _ = ic.parse(data)
    sb = fields["session"]
    k = ic.derive("session", key, dev_id, sd, sb)
    fields, body = ic.open_(k, ic.TO_DEVICE, data)
    assert fields["type"] == ic.WELCOME
    keepalive, base_time, _next_ticket = struct.unpack(">HQQ", body[:18])
    print("ok: welcome (keepalive %d s)" % keepalive)
    seq = 2
    s.sendto(ic.seal(k, ic.TO_BASE, ic.KEEPALIVE, dev_id, sb, seq, b""), base)
    data, _ = s.recvfrom(2000)
    fields, _ = ic.open_(k, ic.TO_DEVICE, data)
    assert fields["type"] == ic.KEEPALIVE
    print("ok: keepalive answered")
    seq += 1
    reading = ic.seal(k, ic.TO_BASE, ic.READING, dev_id, sb, seq, ic.reading_body([(0, value)]))
    s.sendto(reading, base)
    print("ok: sent reading %g" % value)
    # Replays: the same reading three times, and the hello again.
    for _ in range(3):
        s.sendto(reading, base)
    s.sendto(hello, base)
    try:
        data, _ = s.recvfrom(2000)
        t = ic.parse(data)[0]["type"]
        if t != ic.CHALLENGE:
            print("FAIL: the base answered a replayed hello (type %d)" % t)
            failed = 1
        else:
            print("ok: the replayed hello got only the challenge")
    except socket.timeout:
        print("ok: replays unanswered")
    # Roam: the next datagram comes from another port; the base must answer there.
    s2 = Recorder(sock(), log)
    seq += 1
    s2.sendto(ic.seal(k, ic.TO_BASE, ic.KEEPALIVE, dev_id, sb, seq, b""), base)
    try:
        data, _ = s2.recvfrom(2000)
        ic.open_(k, ic.TO_DEVICE, data)
        print("ok: the base followed the device to its new port")
    except socket.timeout:
        print("FAIL: no answer at the new port")
        failed = 1
    seq += 1
    s2.sendto(ic.seal(k, ic.TO_BASE, ic.BYE, dev_id, sb, seq, b""), base)
    if save:
        with open(save, "w") as f:
            f.write("".join(d.hex() + "\n" for d in log))
    return failed


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    cmd, base = argv[1], addr(argv[2])
    if cmd == "garbage":
        return garbage(base, int(argv[3]))
    if cmd == "unknown":
        return unknown(base)
    if cmd == "wrongkey":
        return wrongkey(base, argv[3], bytes.fromhex(argv[4]) if len(argv) > 4 else None)
    if cmd == "session":
        return session(base, argv[3], bytes.fromhex(argv[4]), float(argv[5]), argv[6] if len(argv) > 6 else None)
    if cmd == "replay":
        return replay(base, argv[3])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
