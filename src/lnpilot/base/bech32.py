"""Bech32 (BIP-173) as BOLT 11 uses it: no length limit, and bech32, not bech32m.

The LNbits client decodes invoices (to know a payment hash before paying) and simnet
encodes them (its invoices must be real ones LNbits accepts); the checksum and the 5-bit
regrouping they share are written here once. Simnet imports nothing above itself, so this
lives in the bottom layer.
"""

from __future__ import annotations

from collections.abc import Iterable

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Bech32Error(ValueError):
    """A string that is not valid bech32; the message says what is wrong with it."""


def polymod(values: Iterable[int]) -> int:
    """BIP-173 checksum state over 5-bit groups."""
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def hrp_expand(hrp: str) -> list[int]:
    """The human-readable part as the checksum covers it."""
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def encode(hrp: str, words: list[int]) -> str:
    """`hrp`, the separator, the 5-bit `words` and their checksum."""
    state = polymod([*hrp_expand(hrp), *words, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(state >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[w] for w in words + checksum)


def decode(text: str) -> tuple[str, list[int]]:
    """Split a bech32 string into its hrp and 5-bit data (checksum checked and dropped)."""
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("mixed-case bech32 string")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        raise Bech32Error("not a bech32 string (separator '1' missing or misplaced)")
    hrp = text[:pos]
    try:
        data = [_CHARSET_INDEX[c] for c in text[pos + 1 :]]
    except KeyError as exc:
        raise Bech32Error(f"invalid bech32 character {exc.args[0]!r}") from None
    if polymod(hrp_expand(hrp) + data) != 1:
        raise Bech32Error("bech32 checksum mismatch")
    return hrp, data[:-6]


def convert_bits(data: Iterable[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """Regroup a bit string: bytes into 5-bit words (``8, 5``) or back (``5, 8``); `pad`
    zero-fills a last partial group instead of dropping it."""
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad and bits:
        out.append((acc << (to_bits - bits)) & maxv)
    return out


def words_to_int(words: Iterable[int]) -> int:
    """Big-endian 5-bit words as a number (BOLT 11 timestamps, expiry, CLTV)."""
    value = 0
    for word in words:
        value = value << 5 | word
    return value


def int_to_words(value: int, min_words: int = 1) -> list[int]:
    """A number as big-endian 5-bit words, at least `min_words` of them."""
    words: list[int] = []
    while value:
        words.append(value & 31)
        value >>= 5
    while len(words) < min_words:
        words.append(0)
    return words[::-1]
