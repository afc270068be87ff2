"""Channel backups sealed with a passphrase, for sending them where others can read mail.

LND encrypts its channel backup with the node's own seed, so a copy is useless to a thief
without the seed; but it still names every channel and peer of the node, and a mailbox or
a webhook receiver is someone else's computer. A notice therefore carries the backup
sealed once more, with a key only the operator's passphrase gives.

Format (all of it authenticated): ``LNPSCB1\\0``, one byte log2 of scrypt's N, one byte
r, one byte p, a 16-byte salt, a 12-byte nonce, then AES-256-GCM's ciphertext and tag.
The key comes from scrypt, a slow and memory-hard KDF, so guessing a passphrase from a
stolen file costs the thief that much per guess. The KDF parameters travel in the file
so a later version may raise them and still open old files; reading refuses parameters
above :data:`MAX_LOG2_N`, so a crafted file cannot make ``decrypt`` eat the machine.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"LNPSCB1\0"
#: scrypt's cost: N = 2**16 with r = 8 takes 64 MiB and a fraction of a second per key.
LOG2_N = 16
SCRYPT_R = 8
SCRYPT_P = 1
MAX_LOG2_N = 20
_SALT_BYTES = 16
_NONCE_BYTES = 12
_PARAMS = struct.Struct(">BBB")
_HEADER_BYTES = len(MAGIC) + _PARAMS.size + _SALT_BYTES + _NONCE_BYTES
#: The sealed file's name in a notice: LND's name, and what was done to it.
SEALED_FILE_NAME = "channel.backup.lnpsealed"


class SealError(Exception):
    """The sealed file cannot be opened: not one, damaged, or another passphrase."""


def _key(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p)
    return kdf.derive(passphrase.encode("utf-8"))


class Sealer:
    """Seals backups with one passphrase. The key is derived once, with a salt of its
    own, when the sealer is made: scrypt is slow on purpose, and a daemon seals a backup
    on every channel open and close. Each seal has a fresh nonce."""

    def __init__(self, passphrase: str, *, log2_n: int = LOG2_N) -> None:
        if not passphrase:
            raise ValueError("the passphrase is empty")
        if not 10 <= log2_n <= MAX_LOG2_N:
            raise ValueError(f"log2_n must be between 10 and {MAX_LOG2_N}, not {log2_n}")
        self._params = _PARAMS.pack(log2_n, SCRYPT_R, SCRYPT_P)
        self._salt = os.urandom(_SALT_BYTES)
        self._aead = AESGCM(_key(passphrase, self._salt, log2_n, SCRYPT_R, SCRYPT_P))

    def seal(self, content: bytes) -> bytes:
        header = MAGIC + self._params + self._salt + os.urandom(_NONCE_BYTES)
        nonce = header[-_NONCE_BYTES:]
        return header + self._aead.encrypt(nonce, content, header)


def unseal(sealed: bytes, passphrase: str) -> bytes:
    """The bytes :meth:`Sealer.seal` was given; SealError says why not."""
    if not sealed.startswith(MAGIC) or len(sealed) < _HEADER_BYTES + 16:
        raise SealError("not a channel backup sealed by lnpilot (no LNPSCB1 header)")
    log2_n, r, p = _PARAMS.unpack_from(sealed, len(MAGIC))
    if not (10 <= log2_n <= MAX_LOG2_N and 1 <= r <= 32 and 1 <= p <= 16):
        raise SealError(f"unsupported key derivation parameters: N=2**{log2_n}, r={r}, p={p}")
    header = sealed[:_HEADER_BYTES]
    salt = header[len(MAGIC) + _PARAMS.size : -_NONCE_BYTES]
    aead = AESGCM(_key(passphrase, salt, log2_n, r, p))
    try:
        return aead.decrypt(header[-_NONCE_BYTES:], sealed[_HEADER_BYTES:], header)
    except InvalidTag:
        raise SealError("wrong passphrase, or the file was changed or cut short") from None
