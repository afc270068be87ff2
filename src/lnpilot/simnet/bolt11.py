"""BOLT 11 invoice encoding for the simulated network.

Invoices of our node (created through the LND face) and of simulated nodes (paid by LNbits)
must be real BOLT 11 strings: LNbits decodes them with the `bolt11` library, which checks the
bech32 checksum, requires a payment hash, a payment secret and a description (or its hash),
and verifies the signature. This module writes exactly that; decoding is the LNbits client's
business (`lnpilot.lnbits.bolt11`).
"""

from __future__ import annotations

import hashlib

from lnpilot.base import bech32
from lnpilot.base.bech32 import convert_bits, int_to_words
from lnpilot.simnet.secp256k1 import sign_recoverable

#: hrp currency prefix per network, as LND names its networks.
CURRENCY_BY_NETWORK = {"mainnet": "bc", "testnet": "tb", "signet": "tbs", "regtest": "bcrt"}

# Feature bits LND sets in its invoices: var_onion_optin (8, required), payment_secret
# (14, required), basic_mpp (17, optional).
_INVOICE_FEATURE_BITS = (8, 14, 17)


def _tagged(tag: str, words: list[int]) -> list[int]:
    return [bech32.CHARSET.index(tag), len(words) >> 5, len(words) & 31, *words]


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
    words = int_to_words(timestamp_s, 7)
    words += _tagged("p", convert_bits(payment_hash, 8, 5, True))
    words += _tagged("s", convert_bits(payment_secret, 8, 5, True))
    if description_hash is not None:
        words += _tagged("h", convert_bits(description_hash, 8, 5, True))
    else:
        words += _tagged("d", convert_bits(memo.encode(), 8, 5, True))
    words += _tagged("x", int_to_words(expiry_s))
    words += _tagged("c", int_to_words(min_final_cltv_delta))
    if payee is not None:
        words += _tagged("n", convert_bits(payee, 8, 5, True))
    feature_bits = sum(1 << bit for bit in _INVOICE_FEATURE_BITS)
    words += _tagged("9", int_to_words(feature_bits))
    digest = hashlib.sha256(hrp.encode() + bytes(convert_bits(words, 5, 8, True))).digest()
    signature = sign_recoverable(privkey, digest)
    return bech32.encode(hrp, words + convert_bits(signature, 8, 5, True))
