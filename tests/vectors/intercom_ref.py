#!/usr/bin/python3
"""An independent implementation of the intercom wire format (docs/protocol.md),
written from the spec with Python's `cryptography` package, not from the C code.
It prints the test vectors; tests compare them with tests/vectors/intercom-v1.txt,
which the C unit tests check byte for byte, so the two implementations must agree.
"""
import struct
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HELLO, WELCOME, RESET, KEEPALIVE, BYE, READING = 1, 2, 3, 4, 5, 6
STATE, COMMAND, ACK, FRAME, GET, CHALLENGE = 7, 8, 9, 10, 11, 12
FRAGMENT_DATA = 1200 - (20 + 32) - 16 - 12  # 1120: every fragment but the last carries this much
SWITCH, RANGE, ENUM = 1, 2, 3
TO_BASE, TO_DEVICE = 0, 1


def derive(purpose, psk, dev_id, *sessions):
    info = bytes([len(dev_id)]) + dev_id.encode() + b"".join(struct.pack(">Q", s) for s in sessions)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"intercom1 " + purpose.encode(),
                info=info).derive(psk)


def seal(key, direction, mtype, dev_id, session, seq, body, ticket=None):
    """ticket: a HELLO's, in clear after the header and part of the associated data."""
    header = bytes([1, mtype, 0, len(dev_id)]) + dev_id.encode() + struct.pack(">QQ", session, seq)
    if mtype == HELLO:
        header += struct.pack(">Q", ticket)
    nonce = bytes([direction, 0, 0, 0]) + struct.pack(">Q", seq)
    return header + ChaCha20Poly1305(key).encrypt(nonce, body, header)


def control_entry(name, ctype, *args):
    """(name, SWITCH) | (name, RANGE, min, max, step) | (name, ENUM, [values])"""
    n = name.encode()
    value = bytes([len(n)]) + n + bytes([ctype])
    if ctype == RANGE:
        value += struct.pack(">ddd", *args)
    elif ctype == ENUM:
        value += bytes([len(args[0])]) + b"".join(bytes([len(v)]) + v.encode() for v in args[0])
    return bytes([2, len(value)]) + value


def hello_body(kind, keepalive, sensors, controls=()):
    out = bytes([kind]) + struct.pack(">H", keepalive) + bytes([len(sensors) + len(controls)])
    for name, unit in sensors:
        n, u = name.encode(), unit.encode()
        value = bytes([len(n)]) + n + bytes([len(u)]) + u
        out += bytes([1, len(value)]) + value
    for c in controls:
        out += control_entry(*c)
    return out


def reading_body(values):
    """READING and STATE: (index, value) pairs."""
    return bytes([len(values)]) + b"".join(struct.pack(">Bd", i, v) for i, v in values)


def command_body(cmd_id, expires_ms, values):
    return struct.pack(">QQ", cmd_id, expires_ms) + reading_body(values)


def ack_body(cmd_id, status, error, state):
    e = error.encode()
    return struct.pack(">QBB", cmd_id, status, len(e)) + e + reading_body(state)


def vectors():
    psk = bytes(range(32))
    dev = "cellar-thermo"
    sd, sb = 0x0102030405060708, 0x1112131415161718
    k_hello = derive("hello", psk, dev, sd)
    k_sess = derive("session", psk, dev, sd, sb)
    k_reset = derive("reset", psk, dev, sb)
    k_ticket = derive("ticket", psk, dev)
    ticket, next_ticket = 0x2122232425262728, 0x3132333435363738
    hello = hello_body(1, 15, [("temperature", "\u00b0C"), ("humidity", "%")])
    welcome = struct.pack(">HQQ", 15, 1795996800000, next_ticket)
    reading = reading_body([(0, 12.5), (1, 81.0)])
    return [
        ("key_hello", k_hello),
        ("key_session", k_sess),
        ("key_reset", k_reset),
        ("key_ticket", k_ticket),
        ("body_hello", hello),
        ("body_welcome", welcome),
        ("body_reading", reading),
        ("dgram_challenge", seal(k_ticket, TO_DEVICE, CHALLENGE, dev, 0, ticket, b"")),
        ("dgram_hello", seal(k_hello, TO_BASE, HELLO, dev, sd, 2, hello, ticket)),
        ("dgram_welcome", seal(k_sess, TO_DEVICE, WELCOME, dev, sb, 1, welcome)),
        ("dgram_keepalive", seal(k_sess, TO_BASE, KEEPALIVE, dev, sb, 3, b"")),
        ("dgram_reading", seal(k_sess, TO_BASE, READING, dev, sb, 4, reading)),
        ("dgram_keepalive_reply", seal(k_sess, TO_DEVICE, KEEPALIVE, dev, sb, 2, b"")),
        ("dgram_bye", seal(k_sess, TO_BASE, BYE, dev, sb, 5, b"")),
        ("dgram_reset", seal(k_reset, TO_DEVICE, RESET, dev, sb, next_ticket, b"")),
    ] + control_vectors(psk, sd, sb) + frame_vectors(psk, sd, sb)


def fragment_body(frame_id, index, jpeg):
    count = (len(jpeg) + FRAGMENT_DATA - 1) // FRAGMENT_DATA
    chunk = jpeg[index * FRAGMENT_DATA:(index + 1) * FRAGMENT_DATA]
    return struct.pack(">IHHI", frame_id, index, count, len(jpeg)) + chunk


def frame_vectors(psk, sd, sb):
    """A camera: the last of the three fragments of a 3000-byte frame."""
    dev = "cellar-cam"
    k_sess = derive("session", psk, dev, sd, sb)
    frame = bytes(i % 251 for i in range(3000))
    body = fragment_body(7, 2, frame)
    return [
        ("body_fragment", body),
        ("dgram_fragment", seal(k_sess, TO_BASE, FRAME, dev, sb, 5, body)),
    ]


def control_vectors(psk, sd, sb):
    """An updatable unit: a light switch, a dimmer and a mode."""
    dev = "cellar-lights"
    k_sess = derive("session", psk, dev, sd, sb)
    hello = hello_body(2, 15, [], [("light", SWITCH), ("brightness", RANGE, 0.0, 255.0, 1.0),
                                   ("mode", ENUM, ["off", "eco", "full"])])
    state = reading_body([(0, 1.0), (1, 128.0), (2, 1.0)])
    command = command_body(0x0A0B0C0D0E0F1011, 1795996802000, [(0, 0.0), (1, 64.0)])
    ack_ok = ack_body(0x0A0B0C0D0E0F1011, 0, "", [(0, 0.0), (1, 64.0), (2, 1.0)])
    ack_rejected = ack_body(0x0A0B0C0D0E0F1012, 1, "overheated", [(0, 0.0), (1, 64.0), (2, 1.0)])
    return [
        ("body_hello_controls", hello),
        ("body_state", state),
        ("body_command", command),
        ("body_ack_ok", ack_ok),
        ("body_ack_rejected", ack_rejected),
        ("dgram_state", seal(k_sess, TO_BASE, STATE, dev, sb, 2, state)),
        ("dgram_command", seal(k_sess, TO_DEVICE, COMMAND, dev, sb, 2, command)),
        ("dgram_ack", seal(k_sess, TO_BASE, ACK, dev, sb, 3, ack_ok)),
        ("dgram_get", seal(k_sess, TO_DEVICE, GET, dev, sb, 3, b"")),
    ]


if __name__ == "__main__":
    for name, value in vectors():
        sys.stdout.write("%s %s\n" % (name, value.hex()))


def parse(datagram):
    """Splits a datagram into (header fields, header bytes, sealed part)."""
    if len(datagram) < 20 + 16 or datagram[0] != 1:
        raise ValueError("not an intercom v1 datagram")
    n = datagram[3]
    session, seq = struct.unpack(">QQ", datagram[4 + n:20 + n])
    fields = {"type": datagram[1], "id": datagram[4:4 + n].decode(), "session": session, "seq": seq}
    end = 20 + n
    if fields["type"] == HELLO:
        fields["ticket"], = struct.unpack(">Q", datagram[end:end + 8])
        end += 8
    return fields, datagram[:end], datagram[end:]


def open_(key, direction, datagram):
    """Verifies and decrypts; raises cryptography's InvalidTag on a forgery."""
    fields, header, sealed = parse(datagram)
    nonce = bytes([direction, 0, 0, 0]) + struct.pack(">Q", fields["seq"])
    return fields, ChaCha20Poly1305(key).decrypt(nonce, sealed, header)
