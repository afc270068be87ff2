"""Pydantic models of the LNbits answers the client reads.

Tolerant of what LNbits adds (unknown fields are ignored) and strict on what we read
(a missing or mistyped field we rely on is a validation error, not a silent ``None``).
Amounts are integer millisatoshi in fields named ``*_msat``; ``*_sat`` properties exist
for display. LNbits' own field names are mapped with aliases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lnpilot.base.redact import MASK

T = TypeVar("T")


class LNbitsModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


def _msat_to_sat(msat: int) -> int:
    """Whole satoshi, rounded toward zero (display only; money stays in msat)."""
    return int(msat / 1000) if msat < 0 else msat // 1000


class WalletBalance(LNbitsModel):
    """``GET /api/v1/wallet``: the id only comes back for the admin key."""

    id: str | None = None
    name: str
    balance_msat: int = Field(alias="balance")

    @property
    def balance_sat(self) -> int:
        return _msat_to_sat(self.balance_msat)


class Wallet(LNbitsModel):
    """A wallet with its keys, as created or listed for its owner."""

    id: str
    user: str
    name: str
    adminkey: str = Field(repr=False)
    inkey: str = Field(repr=False)
    balance_msat: int = 0
    currency: str | None = None
    deleted: bool = False

    def __repr__(self) -> str:
        return f"Wallet(id={self.id!r}, name={self.name!r}, adminkey={MASK}, inkey={MASK})"

    __str__ = __repr__


class Payment(LNbitsModel):
    """One payment of a wallet; ``amount_msat`` and ``fee_msat`` are negative when outgoing."""

    checking_id: str
    payment_hash: str
    wallet_id: str
    amount_msat: int = Field(alias="amount")
    fee_msat: int = Field(alias="fee")
    bolt11: str
    status: str = "pending"
    memo: str | None = None
    preimage: str | None = Field(default=None, repr=False)
    expiry: datetime | None = None
    webhook: str | None = None
    tag: str | None = None
    extension: str | None = None
    time: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    labels: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)
    external_id: str | None = None

    @field_validator("time", "created_at", "updated_at", "expiry", mode="after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def is_outgoing(self) -> bool:
        return self.amount_msat < 0

    @property
    def is_paid(self) -> bool:
        return self.status == "success"

    @property
    def is_failed(self) -> bool:
        return self.status == "failed"

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"

    @property
    def amount_sat(self) -> int:
        return _msat_to_sat(self.amount_msat)


class PaymentStatus(LNbitsModel):
    """``GET /api/v1/payments/{hash}``: ``details`` only for the owning wallet's key."""

    paid: bool
    status: str | None = None
    preimage: str | None = Field(default=None, repr=False)
    details: Payment | None = None

    @property
    def state(self) -> str:
        """``success``, ``failed`` or ``pending`` — the one word callers branch on."""
        if self.paid:
            return "success"
        if self.status == "failed" or (self.details is not None and self.details.is_failed):
            return "failed"
        return "pending"


class Page(LNbitsModel, Generic[T]):
    data: list[T]
    total: int


class PaymentHistoryPoint(LNbitsModel):
    date: datetime
    income_msat: int = Field(alias="income")
    spending_msat: int = Field(alias="spending")
    balance_msat: int = Field(alias="balance")


class FeeReserve(LNbitsModel):
    fee_reserve_msat: int = Field(alias="fee_reserve")


class DecodedInvoice(LNbitsModel):
    """LNbits' own decode of a BOLT11 (the client also decodes locally)."""

    payment_hash: str
    amount_msat: int | None = None
    description: str | None = None
    description_hash: str | None = None
    payee: str | None = None
    date: int | None = None
    expiry: int | None = None
    min_final_cltv_expiry: int | None = None


class User(LNbitsModel):
    id: str
    username: str | None = None
    email: str | None = None
    #: The nostr key (hex) the account may log in with, when one is set.
    pubkey: str | None = None
    admin: bool = False
    super_user: bool = False
    activated: bool = True
    wallets: list[Wallet] = Field(default_factory=list)
    created_at: datetime | None = None


class Account(LNbitsModel):
    """A user row as the admin Users API lists it."""

    id: str
    username: str | None = None
    email: str | None = None
    is_admin: bool = False
    is_super_user: bool = False
    balance_msat: int | None = None
    wallet_count: int | None = None


class AccessToken(LNbitsModel):
    access_token: str = Field(repr=False)
    token_type: str = "bearer"  # noqa: S105 - a token kind, not a secret


# -- node API --------------------------------------------------------------------------


class ChannelPoint(LNbitsModel):
    funding_txid: str
    output_index: int

    def __str__(self) -> str:
        return f"{self.funding_txid}:{self.output_index}"


class ChannelBalance(LNbitsModel):
    local_msat: int
    remote_msat: int
    total_msat: int


class NodeChannel(LNbitsModel):
    """A channel as the LNbits node API shows it (state: active, pending, closed, ...)."""

    peer_id: str
    balance: ChannelBalance
    state: str
    id: str | None = None
    short_id: str | None = None
    point: ChannelPoint | None = None
    name: str | None = None
    color: str | None = None
    fee_ppm: int | None = None
    fee_base_msat: int | None = None


class ChannelStats(LNbitsModel):
    counts: dict[str, int]
    avg_size: int
    biggest_size: int | None = None
    smallest_size: int | None = None
    total_capacity: int


class NodeFees(LNbitsModel):
    total_msat: int = 0
    daily_msat: int | None = None
    weekly_msat: int | None = None
    monthly_msat: int | None = None


class NodeInfo(LNbitsModel):
    id: str
    backend_name: str
    alias: str
    color: str
    num_peers: int | None = None
    blockheight: int | None = None
    channel_stats: ChannelStats
    addresses: list[str]
    onchain_balance_sat: int
    onchain_confirmed_sat: int
    fees: NodeFees
    balance_msat: int


class NodePeer(LNbitsModel):
    id: str
    alias: str | None = None
    color: str | None = None
    last_timestamp: int | None = None
    addresses: list[str] = Field(default_factory=list)


class NodePaymentsPage(LNbitsModel):
    data: list[dict[str, Any]]
    total: int


class Extension(LNbitsModel):
    code: str
    is_valid: bool = True
    name: str | None = None
    short_description: str | None = None


class ExtensionRelease(LNbitsModel):
    version: str


class AvailableExtension(LNbitsModel):
    """``GET /api/v1/extension/all``: an extension this LNbits knows, installed or not."""

    id: str
    name: str | None = None
    is_installed: bool = Field(alias="isInstalled")
    is_active: bool = Field(default=False, alias="isActive")
    installed_release: ExtensionRelease | None = Field(default=None, alias="installedRelease")

    @property
    def installed_version(self) -> str | None:
        return self.installed_release.version if self.installed_release else None


class UserExtension(LNbitsModel):
    extension: str
    active: bool


class Health(LNbitsModel):
    server_time: int | None = None
    up_time: str | None = None
    version: str | None = None


class CreatedAccount(Wallet):
    """``POST /api/v1/account``: a new user's first wallet, with its keys."""


JsonObject = dict[str, Any]
