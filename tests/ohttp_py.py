"""A small OHTTP (RFC 9458) + Binary HTTP (RFC 9292) client in Python, written
from the RFCs (HPKE per RFC 9180: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
AES-128-GCM). The end-to-end tests use it to build requests the Rust client
would never send (tampered, truncated, wrong key id) and as a third,
independent implementation beside the guest's gateway and the `ohttp` crate.
X25519 and AES-GCM come from `cryptography` (installed with sev-snp-measure)."""

import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEM, KDF, AEAD = 0x0020, 0x0001, 0x0001
NK, NN, NH = 16, 12, 32


def _extract(salt, ikm):
    return hmac.new(salt or bytes(NH), ikm, hashlib.sha256).digest()


def _expand(prk, info, length):
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def _labeled_extract(suite, salt, label, ikm):
    return _extract(salt, b"HPKE-v1" + suite + label + ikm)


def _labeled_expand(suite, prk, label, info, length):
    return _expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite + label + info, length)


def parse_key_config(ohttp_keys):
    """The first configuration of an application/ohttp-keys body."""
    (length,) = struct.unpack(">H", ohttp_keys[:2])
    cfg = ohttp_keys[2:2 + length]
    key_id, kem = cfg[0], struct.unpack(">H", cfg[1:3])[0]
    assert kem == KEM, f"KEM {kem:#x}"
    pk = cfg[3:35]
    (suites_len,) = struct.unpack(">H", cfg[35:37])
    suites = [struct.unpack(">HH", cfg[37 + i:41 + i]) for i in range(0, suites_len, 4)]
    assert (KDF, AEAD) in suites, suites
    return key_id, pk


class Context:
    """Sender side of one request: seals it and opens the matching response."""

    def __init__(self, key_id, pk_r, request, ephemeral=None):
        hdr = bytes([key_id]) + struct.pack(">HHH", KEM, KDF, AEAD)
        info = b"message/bhttp request\x00" + hdr
        sk_e = ephemeral or X25519PrivateKey.generate()
        enc = sk_e.public_key().public_bytes_raw()
        dh = sk_e.exchange(X25519PublicKey.from_public_bytes(pk_r))
        kem_suite = b"KEM" + struct.pack(">H", KEM)
        eae_prk = _labeled_extract(kem_suite, b"", b"eae_prk", dh)
        shared = _labeled_expand(kem_suite, eae_prk, b"shared_secret", enc + pk_r, 32)
        suite = b"HPKE" + struct.pack(">HHH", KEM, KDF, AEAD)
        ctx = (b"\x00" + _labeled_extract(suite, b"", b"psk_id_hash", b"")
               + _labeled_extract(suite, b"", b"info_hash", info))
        secret = _labeled_extract(suite, shared, b"secret", b"")
        key = _labeled_expand(suite, secret, b"key", ctx, NK)
        nonce = _labeled_expand(suite, secret, b"base_nonce", ctx, NN)
        exporter = _labeled_expand(suite, secret, b"exp", ctx, NH)
        self.enc = enc
        self.response_secret = _labeled_expand(suite, exporter, b"sec", b"message/bhttp response",
                                               max(NN, NK))
        self.encapsulated = hdr + enc + AESGCM(key).encrypt(nonce, request, b"")

    def open_response(self, body):
        """The BHTTP response inside a message/ohttp-res body (raises on tampering)."""
        response_nonce, ct = body[:max(NN, NK)], body[max(NN, NK):]
        prk = _extract(self.enc + response_nonce, self.response_secret)
        key = _expand(prk, b"key", NK)
        nonce = _expand(prk, b"nonce", NN)
        return AESGCM(key).decrypt(nonce, ct, b"")


def varint(n):
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return struct.pack(">H", n | 0x4000)
    if n < 1 << 30:
        return struct.pack(">I", n | 0x80000000)
    return struct.pack(">Q", n | 0xC000000000000000)


def read_varint(buf, pos):
    first = buf[pos]
    size = 1 << (first >> 6)
    value = first & 0x3F
    for b in buf[pos + 1:pos + size]:
        value = value << 8 | b
    if pos + size > len(buf):
        raise ValueError("truncated varint")
    return value, pos + size


def _vbytes(b):
    return varint(len(b)) + b


def bhttp_request(method, path, body, headers=(("content-type", b"application/json"),),
                  scheme=b"https", authority=b"appliance"):
    """A known-length (framing 0) Binary HTTP request."""
    fields = b"".join(_vbytes(n.encode() if isinstance(n, str) else n) + _vbytes(v)
                      for n, v in headers)
    return (varint(0) + _vbytes(method.encode()) + _vbytes(scheme) + _vbytes(authority)
            + _vbytes(path.encode()) + _vbytes(fields) + _vbytes(body) + varint(0))


def bhttp_response(msg):
    """(status, {name: value}, body) of a known-length (framing 1) response."""
    framing, pos = read_varint(msg, 0)
    assert framing == 1, f"framing {framing}"
    while True:
        status, pos = read_varint(msg, pos)
        length, pos = read_varint(msg, pos)
        fields, pos = msg[pos:pos + length], pos + length
        if status >= 200:
            break
    headers, fpos = {}, 0
    while fpos < len(fields):
        n, fpos = read_varint(fields, fpos)
        name, fpos = fields[fpos:fpos + n], fpos + n
        n, fpos = read_varint(fields, fpos)
        headers[name.decode()], fpos = fields[fpos:fpos + n], fpos + n
    n, pos = read_varint(msg, pos)
    return status, headers, msg[pos:pos + n]


def new_request(ohttp_keys, inner):
    key_id, pk = parse_key_config(ohttp_keys)
    return Context(key_id, pk, inner)


def random_bytes(n):
    return os.urandom(n)
