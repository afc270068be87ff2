"""BOLT 11 invoice encoding for the simulated network.

Invoices of our node (created through the LND face) and of simulated nodes (paid by LNbits)
must be real BOLT 11 strings: LNbits decodes them with the `bolt11` library, which checks the
bech32 checksum, requires a payment hash, a payment secret and a description (or its hash),
and verifies the signature. This module writes exactly that; decoding is the LNbits client's
business (`lnpilot.lnbits.bolt11`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from lnpilot.simnet.secp256k1 import sign_recoverable

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)

#: hrp currency prefix per network, as LND names its networks.
CURRENCY_BY_NETWORK = {"mainnet": "bc", "testnet": "tb", "signet": "tbs", "regtest": "bcrt"}

# Feature bits LND sets in its invoices: var_onion_optin (8, required), payment_secret
# (14, required), basic_mpp (17, optional).
_INVOICE_FEATURE_BITS = (8, 14, 17)


def _polymod(values: Iterable[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GEN[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def bech32_encode(hrp: str, words: list[int]) -> str:
    """Bech32 (not bech32m, as BOLT 11 requires) with no length limit."""
    polymod = _polymod([*_hrp_expand(hrp), *words, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[w] for w in words + checksum)


def _to_words(data: bytes) -> list[int]:
    """Bytes as 5-bit words, the last one zero-padded."""
    acc = 0
    bits = 0
    words: list[int] = []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            words.append((acc >> bits) & 31)
    if bits:
        words.append((acc << (5 - bits)) & 31)
    return words


def _words_to_bytes(words: list[int]) -> bytes:
    """5-bit words as bytes, zero-padded at the end, as BOLT 11 signs them."""
    acc = 0
    bits = 0
    out = bytearray()
    for word in words:
        acc = (acc << 5) | word
        bits += 5
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits:
        out.append((acc << (8 - bits)) & 0xFF)
    return bytes(out)


def _int_words(value: int, min_words: int = 1) -> list[int]:
    words: list[int] = []
    while value:
        words.append(value & 31)
        value >>= 5
    while len(words) < min_words:
        words.append(0)
    return words[::-1]


def _tagged(tag: str, words: list[int]) -> list[int]:
    return [_CHARSET.index(tag), len(words) >> 5, len(words) & 31, *words]


def amount_hrp(value_msat: int) -> str:
    """The amount part of the hrp: the shortest exact multiplier form (BOLT 11)."""
    if value_msat <= 0:
        return ""
    pico_btc = value_msat * 10
    for unit in ("p", "n", "u", "m"):
        if pico_btc % 1000:
            return f"{pico_btc}{unit}"
        pico_btc //= 1000
    return str(pico_btc)


def encode(
    *,
    privkey: int,
    network: str,
    payment_hash: bytes,
    payment_secret: bytes,
    value_msat: int,
    timestamp_s: int,
    memo: str = "",
    description_hash: bytes | None = None,
    expiry_s: int = 3600,
    min_final_cltv_delta: int = 18,
    payee: bytes | None = None,
) -> str:
    """A signed BOLT 11 payment request.

    `description_hash`, when given, replaces the memo (BOLT 11 allows one or the other).
    `payee` (33-byte compressed pubkey of `privkey`) adds the `n` field; leave it out when the
    signing key is not the node's real key, so that decoders recover the key instead of
    failing verification.
    """
    if len(payment_hash) != 32 or len(payment_secret) != 32:
        raise ValueError("payment_hash and payment_secret must be 32 bytes")
    try:
        currency = CURRENCY_BY_NETWORK[network]
    except KeyError:
        raise ValueError(
            f"network {network!r} is not one of {sorted(CURRENCY_BY_NETWORK)}"
        ) from None
    hrp = "ln" + currency + amount_hrp(value_msat)
    words = _int_words(timestamp_s, 7)
    words += _tagged("p", _to_words(payment_hash))
    words += _tagged("s", _to_words(payment_secret))
    if description_hash is not None:
        words += _tagged("h", _to_words(description_hash))
    else:
        words += _tagged("d", _to_words(memo.encode()))
    words += _tagged("x", _int_words(expiry_s))
    words += _tagged("c", _int_words(min_final_cltv_delta))
    if payee is not None:
        words += _tagged("n", _to_words(payee))
    feature_bits = sum(1 << bit for bit in _INVOICE_FEATURE_BITS)
    words += _tagged("9", _int_words(feature_bits))
    digest = hashlib.sha256(hrp.encode() + _words_to_bytes(words)).digest()
    signature = sign_recoverable(privkey, digest)
    return bech32_encode(hrp, words + _to_words(signature))
