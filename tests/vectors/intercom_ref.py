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
TO_BASE, TO_DEVICE = 0, 1


def derive(purpose, psk, dev_id, *sessions):
    info = bytes([len(dev_id)]) + dev_id.encode() + b"".join(struct.pack(">Q", s) for s in sessions)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"intercom1 " + purpose.encode(),
                info=info).derive(psk)


def seal(key, direction, mtype, dev_id, session, seq, body):
    header = bytes([1, mtype, 0, len(dev_id)]) + dev_id.encode() + struct.pack(">QQ", session, seq)
    nonce = bytes([direction, 0, 0, 0]) + struct.pack(">Q", seq)
    return header + ChaCha20Poly1305(key).encrypt(nonce, body, header)


def hello_body(kind, keepalive, sensors):
    out = bytes([kind]) + struct.pack(">H", keepalive) + bytes([len(sensors)])
    for name, unit in sensors:
        n, u = name.encode(), unit.encode()
        value = bytes([len(n)]) + n + bytes([len(u)]) + u
        out += bytes([1, len(value)]) + value
    return out


def reading_body(values):
    return bytes([len(values)]) + b"".join(struct.pack(">Bd", i, v) for i, v in values)


def vectors():
    psk = bytes(range(32))
    dev = "cellar-thermo"
    sd, sb = 0x0102030405060708, 0x1112131415161718
    k_hello = derive("hello", psk, dev, sd)
    k_sess = derive("session", psk, dev, sd, sb)
    k_reset = derive("reset", psk, dev, sb)
    hello = hello_body(1, 15, [("temperature", "\u00b0C"), ("humidity", "%")])
    welcome = struct.pack(">HQ", 15, 1795996800000)
    reading = reading_body([(0, 12.5), (1, 81.0)])
    return [
        ("key_hello", k_hello),
        ("key_session", k_sess),
        ("key_reset", k_reset),
        ("body_hello", hello),
        ("body_welcome", welcome),
        ("body_reading", reading),
        ("dgram_hello", seal(k_hello, TO_BASE, HELLO, dev, sd, 1, hello)),
        ("dgram_welcome", seal(k_sess, TO_DEVICE, WELCOME, dev, sb, 1, welcome)),
        ("dgram_keepalive", seal(k_sess, TO_BASE, KEEPALIVE, dev, sb, 2, b"")),
        ("dgram_reading", seal(k_sess, TO_BASE, READING, dev, sb, 3, reading)),
        ("dgram_keepalive_reply", seal(k_sess, TO_DEVICE, KEEPALIVE, dev, sb, 2, b"")),
        ("dgram_bye", seal(k_sess, TO_BASE, BYE, dev, sb, 4, b"")),
        ("dgram_reset", seal(k_reset, TO_DEVICE, RESET, dev, sb, 7, b"")),
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
    return {"type": datagram[1], "id": datagram[4:4 + n].decode(), "session": session, "seq": seq}, \
        datagram[:20 + n], datagram[20 + n:]


def open_(key, direction, datagram):
    """Verifies and decrypts; raises cryptography's InvalidTag on a forgery."""
    fields, header, sealed = parse(datagram)
    nonce = bytes([direction, 0, 0, 0]) + struct.pack(">Q", fields["seq"])
    return fields, ChaCha20Poly1305(key).decrypt(nonce, sealed, header)
