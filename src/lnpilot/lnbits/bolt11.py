"""Local BOLT11 decoding: enough to know an invoice before paying it.

The client decodes an invoice itself (payment hash, amount, expiry, description) so that
``pay`` can check "already paid or in flight?" by payment hash before sending anything,
and resolve an ambiguous outcome by that hash afterwards. The signature is not verified
here: LNbits and the node verify it when paying; this is about identity, not trust.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lnpilot.base import bech32
from lnpilot.base.bech32 import convert_bits, words_to_int
from lnpilot.lnbits.errors import InvoiceDecodeError

#: msat per unit of the amount, by multiplier letter (1 BTC = 10**11 msat).
_MSAT_PER_UNIT = {"": 10**11, "m": 10**8, "u": 10**5, "n": 10**2}

_DEFAULT_EXPIRY_S = 3600
_SIGNATURE_GROUPS = 104  # 520 bits: 64-byte signature + recovery id


@dataclass(frozen=True)
class Invoice:
    """What lnpilot needs to know of a BOLT11 invoice."""

    bolt11: str
    network_prefix: str
    payment_hash: str
    amount_msat: int | None
    created_at: datetime
    expiry_s: int
    description: str | None
    description_hash: str | None
    payee_pubkey: str | None
    min_final_cltv_expiry: int

    @property
    def expires_at(self) -> datetime:
        return self.created_at + timedelta(seconds=self.expiry_s)

    def is_expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at


def _parse_amount(hrp: str) -> tuple[str, int | None]:
    """Split ``lnbc2500u`` into network prefix ``bc`` and 250_000_000 msat."""
    body = hrp[2:]
    digits_start = next((i for i, c in enumerate(body) if c.isdigit()), len(body))
    prefix, amount = body[:digits_start], body[digits_start:]
    if not amount:
        return prefix, None
    multiplier = amount[-1] if amount[-1].isalpha() else ""
    number = amount[:-1] if multiplier else amount
    if not number.isdigit() or (number.startswith("0")):
        raise InvoiceDecodeError(f"invalid amount {amount!r} in invoice prefix")
    if multiplier == "p":
        pico = int(number)
        if pico % 10:
            raise InvoiceDecodeError("pico-bitcoin amount is not a whole millisatoshi")
        return prefix, pico // 10
    if multiplier not in _MSAT_PER_UNIT:
        raise InvoiceDecodeError(f"unknown amount multiplier {multiplier!r}")
    return prefix, int(number) * _MSAT_PER_UNIT[multiplier]


def decode(bolt11: str) -> Invoice:
    """Decode a BOLT11 invoice (``lightning:`` prefix accepted); raises InvoiceDecodeError."""
    text = bolt11.strip()
    if text.lower().startswith("lightning:"):
        text = text[len("lightning:") :]
    try:
        hrp, data = bech32.decode(text)
    except bech32.Bech32Error as exc:
        raise InvoiceDecodeError(str(exc)) from None
    if not hrp.startswith("ln"):
        raise InvoiceDecodeError("not a lightning invoice (prefix must start with 'ln')")
    if len(data) < 7 + _SIGNATURE_GROUPS:
        raise InvoiceDecodeError("invoice too short")
    prefix, amount_msat = _parse_amount(hrp)
    created_at = datetime.fromtimestamp(words_to_int(data[:7]), tz=UTC)
    fields = data[7:-_SIGNATURE_GROUPS]
    payment_hash = description = description_hash = payee = None
    expiry_s, min_cltv = _DEFAULT_EXPIRY_S, 18
    i = 0
    while i + 3 <= len(fields):
        tag, length = fields[i], fields[i + 1] << 5 | fields[i + 2]
        value = fields[i + 3 : i + 3 + length]
        i += 3 + length
        if tag == 1 and length == 52:
            payment_hash = bytes(convert_bits(value, 5, 8, False)).hex()
        elif tag == 13:
            description = bytes(convert_bits(value, 5, 8, False)).decode("utf-8", "replace")
        elif tag == 23 and length == 52:
            description_hash = bytes(convert_bits(value, 5, 8, False)).hex()
        elif tag == 19 and length == 53:
            payee = bytes(convert_bits(value, 5, 8, False))[:33].hex()
        elif tag == 6:
            expiry_s = words_to_int(value)
        elif tag == 24:
            min_cltv = words_to_int(value)
    if payment_hash is None:
        raise InvoiceDecodeError("invoice has no payment hash")
    return Invoice(
        bolt11=text,
        network_prefix=prefix,
        payment_hash=payment_hash,
        amount_msat=amount_msat,
        created_at=created_at,
        expiry_s=expiry_s,
        description=description,
        description_hash=description_hash,
        payee_pubkey=payee,
        min_final_cltv_expiry=min_cltv,
    )
