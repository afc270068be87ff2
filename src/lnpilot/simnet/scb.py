"""Static channel backups of the simulated node: opaque to clients, checkable by the node.

LND encrypts each single-channel backup and the multi-channel backup with a key derived
from the wallet seed, so only the node that made a backup can read it, and
``VerifyChanBackup`` is "can I decrypt and parse this?". The simulation keeps that shape
without real encryption: each blob carries a keyed tag (SHA-256 over the node's key and the
content), so any flipped byte, a truncated file or another node's backup fails to verify,
while a good one gives back the channel points it covers. No secret material of a real
node is involved; the key is derived from our simulated node's identity.

Layout (big-endian lengths): single = ``SINGLE_MAGIC | u8 len | point | u8 len | peer |
tag``; multi = ``MULTI_MAGIC | u16 count | (u16 len | single)* | tag``.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

SINGLE_MAGIC = b"SIMNET-SCB-v2"
MULTI_MAGIC = b"SIMNET-MULTI-v2"
_TAG_BYTES = 32


class BackupInvalid(ValueError):
    """The bytes are not a backup this node made (corrupt, truncated or foreign)."""


def node_key(pubkey: str) -> bytes:
    """The stand-in for LND's seed-derived backup key."""
    return hashlib.sha256(b"simnet-scb-key:" + bytes.fromhex(pubkey)).digest()


def _tag(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()


def pack_single(key: bytes, channel_point: str, peer_pubkey: str) -> bytes:
    point, peer = channel_point.encode(), peer_pubkey.encode()
    body = SINGLE_MAGIC + bytes([len(point)]) + point + bytes([len(peer)]) + peer
    return body + _tag(key, body)


def pack_multi(key: bytes, singles: list[bytes]) -> bytes:
    body = MULTI_MAGIC + struct.pack(">H", len(singles))
    body += b"".join(struct.pack(">H", len(s)) + s for s in singles)
    return body + _tag(key, body)


def _checked(key: bytes, blob: bytes, magic: bytes, what: str) -> bytes:
    """The body of `blob` once its magic and tag are right; BackupInvalid otherwise."""
    if len(blob) < len(magic) + _TAG_BYTES or not blob.startswith(magic):
        raise BackupInvalid(f"invalid {what} channel backup: unknown format")
    body, tag = blob[:-_TAG_BYTES], blob[-_TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(key, body)):
        raise BackupInvalid(f"invalid {what} channel backup: message authentication failed")
    return body[len(magic) :]


def unpack_single(key: bytes, blob: bytes) -> str:
    """The channel point a single backup covers."""
    rest = _checked(key, blob, SINGLE_MAGIC, "single")
    size = rest[0]
    return rest[1 : 1 + size].decode()


def unpack_multi(key: bytes, blob: bytes) -> list[str]:
    """The channel points a multi-channel backup covers, in its order."""
    rest = _checked(key, blob, MULTI_MAGIC, "multi")
    (count,) = struct.unpack_from(">H", rest)
    offset, points = 2, []
    for _ in range(count):
        (size,) = struct.unpack_from(">H", rest, offset)
        points.append(unpack_single(key, rest[offset + 2 : offset + 2 + size]))
        offset += 2 + size
    return points
