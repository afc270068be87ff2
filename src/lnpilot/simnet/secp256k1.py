"""Just enough secp256k1 to give simulated nodes real keys and sign BOLT11 invoices.

LNbits decodes every invoice with the `bolt11` library, which verifies the signature against
the payee (or recovers the payee from it), so simulated invoices need genuine recoverable
ECDSA signatures. The simulation signs a handful of invoices and derives a few hundred keys,
so a small pure-Python implementation (Jacobian coordinates, a precomputed table of powers of
G, RFC 6979 nonces) is fast enough and spares the project a compiled dependency.
Not constant time: these keys protect nothing.
"""

from __future__ import annotations

import hashlib
import hmac

P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
GX = 0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798
GY = 0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8

_Jacobian = tuple[int, int, int]


def _double(pt: _Jacobian) -> _Jacobian:
    x, y, z = pt
    if y == 0:
        return (0, 0, 0)
    ysq = y * y % P
    s = 4 * x * ysq % P
    m = 3 * x * x % P
    nx = (m * m - 2 * s) % P
    ny = (m * (s - nx) - 8 * ysq * ysq) % P
    nz = 2 * y * z % P
    return (nx, ny, nz)


def _add(p1: _Jacobian, p2: _Jacobian) -> _Jacobian:
    if p1[2] == 0:
        return p2
    if p2[2] == 0:
        return p1
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    z1sq = z1 * z1 % P
    z2sq = z2 * z2 % P
    u1 = x1 * z2sq % P
    u2 = x2 * z1sq % P
    s1 = y1 * z2sq * z2 % P
    s2 = y2 * z1sq * z1 % P
    if u1 == u2:
        return _double(p1) if s1 == s2 else (0, 0, 0)
    h = (u2 - u1) % P
    r = (s2 - s1) % P
    h2 = h * h % P
    h3 = h * h2 % P
    u1h2 = u1 * h2 % P
    nx = (r * r - h3 - 2 * u1h2) % P
    ny = (r * (u1h2 - nx) - s1 * h3) % P
    nz = h * z1 * z2 % P
    return (nx, ny, nz)


def _to_affine(pt: _Jacobian) -> tuple[int, int]:
    x, y, z = pt
    if z == 0:
        raise ValueError("point at infinity has no affine form")
    zinv = pow(z, -1, P)
    zinv2 = zinv * zinv % P
    return (x * zinv2 % P, y * zinv2 * zinv % P)


def _g_powers() -> list[_Jacobian]:
    table: list[_Jacobian] = []
    pt: _Jacobian = (GX, GY, 1)
    for _ in range(256):
        table.append(pt)
        pt = _double(pt)
    return table


_G_POWERS = _g_powers()


def _mul_g(scalar: int) -> _Jacobian:
    acc: _Jacobian = (0, 0, 0)
    i = 0
    while scalar:
        if scalar & 1:
            acc = _add(acc, _G_POWERS[i])
        scalar >>= 1
        i += 1
    return acc


def pubkey_of(privkey: int) -> bytes:
    """The 33-byte compressed public key of `privkey` (1 <= privkey < N)."""
    if not 1 <= privkey < N:
        raise ValueError("private key out of range")
    x, y = _to_affine(_mul_g(privkey))
    return bytes([2 + (y & 1)]) + x.to_bytes(32, "big")


def _rfc6979_nonce(privkey: int, digest: bytes) -> int:
    key = b"\x00" * 32
    v = b"\x01" * 32
    seed = privkey.to_bytes(32, "big") + (int.from_bytes(digest, "big") % N).to_bytes(32, "big")
    key = hmac.new(key, v + b"\x00" + seed, hashlib.sha256).digest()
    v = hmac.new(key, v, hashlib.sha256).digest()
    key = hmac.new(key, v + b"\x01" + seed, hashlib.sha256).digest()
    v = hmac.new(key, v, hashlib.sha256).digest()
    while True:
        v = hmac.new(key, v, hashlib.sha256).digest()
        k = int.from_bytes(v, "big")
        if 1 <= k < N:
            return k
        key = hmac.new(key, v + b"\x00", hashlib.sha256).digest()
        v = hmac.new(key, v, hashlib.sha256).digest()


def sign_recoverable(privkey: int, digest: bytes) -> bytes:
    """A 65-byte `r || s || recovery_id` signature of a 32-byte digest, low-s normalised.

    This is the layout BOLT 11 puts at the end of an invoice (and what libsecp256k1's
    recoverable serialisation gives).
    """
    z = int.from_bytes(digest, "big")
    k = _rfc6979_nonce(privkey, digest)
    rx, ry = _to_affine(_mul_g(k))
    r = rx % N
    s = pow(k, -1, N) * (z + r * privkey) % N
    if r == 0 or s == 0:
        raise ValueError("degenerate signature; change the message")
    recid = (ry & 1) | (2 if rx >= N else 0)
    if s > N // 2:
        s = N - s
        recid ^= 1
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([recid])
