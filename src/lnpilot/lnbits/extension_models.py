"""Typed answers of the LNbits extensions LNDHub, UserManager and Boltz.

Units follow what each extension speaks, named in the field: LNDHub and Boltz count whole
sats (`*_sat`), UserManager's transactions are core payments in msat. LNDHub's float sats
(`payinvoice.value`, `num_satoshis`) are read as whole sats: a BOLT11 amount in sats has no
fraction when it comes from LNDHub, which only makes and pays sat invoices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from lnpilot.lnbits.models import LNbitsModel, Wallet


def _whole_sat(value: Any) -> Any:
    """A float that is a whole number of sats becomes an int; anything else is left to fail."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


# --- LNDHub -----------------------------------------------------------------------------------


class LndhubTokens(LNbitsModel):
    """`POST /auth`: both tokens are base64(login:password); they prove nothing by themselves."""

    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)


class LndhubInfo(LNbitsModel):
    """`GET /getinfo`: only the site title as the alias."""

    alias: str


class LndhubInvoice(LNbitsModel):
    """`POST /addinvoice`: a new invoice of the token's wallet."""

    payment_request: str
    payment_hash: str = Field(alias="hash")
    add_index: str


class LndhubDecoded(LNbitsModel):
    """`GET /decodeinvoice` (and `payinvoice.decoded`)."""

    destination: str
    payment_hash: str
    amount_sat: int = Field(alias="num_satoshis")
    timestamp_s: int = Field(alias="timestamp")
    expiry_s: int = Field(alias="expiry")
    description: str = ""
    cltv_expiry: int

    _sat = field_validator("amount_sat", "timestamp_s", "expiry_s", mode="before")(_whole_sat)


class LndhubPayResult(LNbitsModel):
    """`POST /payinvoice`: HTTP 200 for success AND failure; `payment_error` tells them apart."""

    payment_error: str
    payment_hash: str | None = None
    payment_preimage: str | None = Field(default=None, repr=False)
    amount_sat: int | None = Field(default=None, alias="value")
    fee_msat: int | None = None

    _sat = field_validator("amount_sat", mode="before")(_whole_sat)

    @property
    def succeeded(self) -> bool:
        return self.payment_error == ""


class LndhubTransaction(LNbitsModel):
    """`GET /gettxs`: an outgoing payment; `value_sat` is negative."""

    payment_hash: str
    payment_preimage: str | None = Field(default=None, repr=False)
    value_sat: int = Field(alias="value")
    fee_msat: int
    timestamp_s: int = Field(alias="timestamp")
    memo: str = ""
    type: str

    _sat = field_validator("value_sat", "timestamp_s", mode="before")(_whole_sat)


class LndhubUserInvoice(LNbitsModel):
    """`GET /getuserinvoices`: an incoming invoice, paid or not."""

    payment_request: str
    payment_hash: str
    amount_sat: int = Field(alias="amt")
    ispaid: bool
    description: str = ""
    timestamp_s: int = Field(alias="timestamp")
    expire_time_s: int = Field(alias="expire_time")


# --- UserManager ------------------------------------------------------------------------------


class ManagedWallet(Wallet):
    """A wallet of a managed user; `admin` is the operator (the LNbits user who made it).
    Its keys are masked in repr like any wallet's."""

    admin: str


class ManagedUser(LNbitsModel):
    """A user made through UserManager, with its wallets (and their keys)."""

    id: str
    name: str
    admin: str
    extra: dict[str, str] | None = None
    wallets: list[ManagedWallet] = Field(default_factory=list)


# --- Boltz ------------------------------------------------------------------------------------


class _SwapBase(LNbitsModel):
    """What every swap record of the extension has (amounts in sats)."""

    id: str
    wallet: str
    asset: str
    amount_sat: int = Field(alias="amount")
    time: datetime


class SubmarineSwap(_SwapBase):
    """On-chain in, Lightning out to the wallet (`direction` receive) or the other way."""

    direction: str
    status: str
    payment_hash: str
    boltz_id: str
    expected_amount_sat: int = Field(alias="expected_amount")
    timeout_block_height: int
    address: str
    bip21: str
    refund_address: str
    refund_privkey: str = Field(repr=False)
    feerate: bool | None = None
    feerate_value: int | None = None


class ReverseSwap(_SwapBase):
    """Lightning out of the wallet, on-chain in to `onchain_address`."""

    direction: str
    status: str
    boltz_id: str
    onchain_address: str
    instant_settlement: bool
    lockup_address: str
    invoice: str
    onchain_amount_sat: int = Field(alias="onchain_amount")
    timeout_block_height: int
    preimage: str = Field(repr=False)
    claim_privkey: str = Field(repr=False)
    feerate: bool | None = None
    feerate_value: int | None = None


class AutoReverseSwap(_SwapBase):
    """Swap `amount_sat` out whenever the wallet holds more than `balance_sat` above it."""

    balance_sat: int = Field(alias="balance")
    onchain_address: str
    instant_settlement: bool
    feerate_limit: int | None = None
    count: int


class BoltzSettings(LNbitsModel):
    """The extension's global settings (not per user)."""

    boltz_url: str
    boltz_network: str
    boltz_network_liquid: str


class BoltzPairFees(LNbitsModel):
    percentage: float
    percentage_swap_in: float = Field(alias="percentageSwapIn")
    miner_fees: dict[str, Any] = Field(alias="minerFees")


class BoltzPairLimits(LNbitsModel):
    maximal_sat: int = Field(alias="maximal")
    minimal_sat: int = Field(alias="minimal")


class BoltzPair(LNbitsModel):
    """One pair of `GET /swap/boltz` (the backend's `/getpairs`)."""

    hash: str
    rate: float
    limits: BoltzPairLimits
    fees: BoltzPairFees
