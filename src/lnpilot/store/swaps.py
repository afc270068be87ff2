"""The swap journal: every Lightning <-> on-chain swap lnpilot started, followed to its end.

A swap outlives the process that started it: a submarine swap waits for an on-chain payment
and Boltz's claim, a reverse swap for its Lightning payment and the claim, minutes or days.
So each swap is a row that says where it stands (``state``), written BEFORE the extension is
asked to create it (state ``intent``, under a unique ``intent_key``): a process that crashes
between the call and its answer finds the intent when it comes back, and looks the swap up
among the wallet's swaps instead of creating a second one. Every change of state is a line in
``swap_events`` with its reason, so the journal tells how each swap went.

Like the rest of the store it knows nothing of swaps' rules: states and kinds are the swap
engine's words (``lnpilot.rebalance.swaps``), stored as text; the store only needs to know
which states are still open, to hand them to whoever follows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    RowMapping,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    func,
    select,
    update,
)

from lnpilot.store.coltypes import Id, Json, UtcDateTime
from lnpilot.store.database import insert_record
from lnpilot.store.reads import StoreReader
from lnpilot.store.records import JsonValue
from lnpilot.store.tables import metadata
from lnpilot.store.transaction import StoreTransaction

#: States from which a swap can still move: whoever follows swaps asks for these.
OPEN_STATES = ("intent", "created", "paid")
#: A swap refused at creation: it cost nothing.
FAILED = "failed"

swaps = Table(
    "swaps",
    metadata,
    Column("id", Id, primary_key=True),
    Column("intent_key", String(128), nullable=False),
    Column("node_id", Integer, ForeignKey("nodes.id")),
    Column("wallet_id", String(64)),
    Column("kind", String(4), nullable=False),
    Column("state", String(16), nullable=False),
    Column("swap_id", String(64)),
    Column("boltz_id", String(64)),
    Column("amount_sat", BigInteger, nullable=False),
    Column("onchain_amount_sat", BigInteger),
    Column("boltz_fee_sat", BigInteger),
    Column("miner_fee_sat", BigInteger),
    Column("cost_msat", BigInteger),
    Column("address", String(128)),
    Column("timeout_block_height", Integer),
    Column("chan_id", BigInteger),
    Column("created_by", String(64), nullable=False),
    Column("approved_by", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("ext_status", String(16)),
    Column("detail", Json, nullable=False),
    UniqueConstraint("intent_key"),
    Index(None, "state"),
    Index(None, "swap_id"),
)

swap_events = Table(
    "swap_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("swap_row_id", Id, ForeignKey("swaps.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("detail", Json, nullable=False),
    Index(None, "swap_row_id", "id"),
)


@dataclass(frozen=True)
class SwapRecord:
    """A swap as the journal keeps it; ``swap_id`` is the extension's id, None while only the
    intent exists. Amounts in whole sats, as Boltz speaks: ``amount_sat`` is the Lightning
    side, ``onchain_amount_sat`` what arrives (out) or must be sent (in) on-chain; ``cost_msat``
    what the swap is expected to cost in all (Boltz, miners, our own funding), which the
    rebalancing budget counts."""

    intent_key: str
    kind: str
    state: str
    amount_sat: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    node_id: int | None = None
    wallet_id: str | None = None
    swap_id: str | None = None
    boltz_id: str | None = None
    onchain_amount_sat: int | None = None
    boltz_fee_sat: int | None = None
    miner_fee_sat: int | None = None
    cost_msat: int | None = None
    address: str | None = None
    timeout_block_height: int | None = None
    chan_id: int | None = None
    approved_by: str | None = None
    ext_status: str | None = None
    detail: dict[str, JsonValue] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class SwapEvent:
    """One change of a swap's state, and why."""

    swap_row_id: int
    at: datetime
    state: str
    reason: str
    detail: dict[str, JsonValue] = field(default_factory=dict)
    id: int | None = None


# --- writes ------------------------------------------------------------------------------


async def add_intent(tx: StoreTransaction, record: SwapRecord, reason: str) -> int | None:
    """Store a swap before it is created; returns its row id, or None when a swap with the
    same ``intent_key`` exists already (that swap is the one to follow, not a new one).

    The lookup and the insert happen under the node's write lock when the swap belongs to a
    node, and the unique key stops a second writer in any case."""
    if record.node_id is not None:
        await tx.lock_node(record.node_id)
    existing = await tx.connection.execute(
        select(swaps.c.id).where(swaps.c.intent_key == record.intent_key)
    )
    if existing.first() is not None:
        return None
    row_id = await insert_record(tx.connection, swaps, record)
    await add_event(tx, SwapEvent(row_id, record.created_at, record.state, reason))
    return row_id


async def move(
    tx: StoreTransaction,
    row_id: int,
    at: datetime,
    *,
    state: str,
    reason: str,
    values: dict[str, Any] | None = None,
    detail: dict[str, JsonValue] | None = None,
) -> None:
    """Change a swap's state (and any of its columns in ``values``), journaling why."""
    changes: dict[str, Any] = {**(values or {}), "state": state, "updated_at": at}
    await tx.connection.execute(update(swaps).where(swaps.c.id == row_id).values(changes))
    await add_event(tx, SwapEvent(row_id, at, state, reason, detail or {}))


async def note_status(tx: StoreTransaction, row_id: int, at: datetime, ext_status: str) -> None:
    """Remember the extension's last status without a change of state (no event)."""
    await tx.connection.execute(
        update(swaps).where(swaps.c.id == row_id).values(ext_status=ext_status, updated_at=at)
    )


async def add_event(tx: StoreTransaction, event: SwapEvent) -> int:
    return await insert_record(tx.connection, swap_events, event)


# --- reads -------------------------------------------------------------------------------


async def by_intent(reader: StoreReader, intent_key: str) -> SwapRecord | None:
    result = await reader.connection.execute(select(swaps).where(swaps.c.intent_key == intent_key))
    row = result.mappings().one_or_none()
    return _swap(row) if row is not None else None


async def by_id(reader: StoreReader, swap_id: str) -> SwapRecord | None:
    """A swap by the extension's id, or by its row id written as a number."""
    query = select(swaps).where(swaps.c.swap_id == swap_id)
    if swap_id.isdigit():
        query = select(swaps).where((swaps.c.swap_id == swap_id) | (swaps.c.id == int(swap_id)))
    result = await reader.connection.execute(query.order_by(swaps.c.id).limit(1))
    row = result.mappings().one_or_none()
    return _swap(row) if row is not None else None


async def open_swaps(reader: StoreReader) -> list[SwapRecord]:
    """Swaps not at their end yet, oldest first: what a follower resumes after a restart."""
    result = await reader.connection.execute(
        select(swaps).where(swaps.c.state.in_(OPEN_STATES)).order_by(swaps.c.id)
    )
    return [_swap(row) for row in result.mappings()]


async def spending(reader: StoreReader, node_id: int, since: Sequence[datetime]) -> list[int]:
    """Costs (msat) of the node's swaps created at or after each of ``since``: every swap but
    one refused at creation counts, an intent too (it may exist), like a rebalance attempt
    in flight counts at its full fee."""
    s = swaps.c
    sums = [
        func.coalesce(func.sum(case((s.created_at >= start, s.cost_msat), else_=0)), 0)
        for start in since
    ]
    if not sums:
        return []
    result = await reader.connection.execute(
        select(*sums).where(s.node_id == node_id, s.state != FAILED)
    )
    return [int(value) for value in result.one()]


async def busy_channels(reader: StoreReader, node_id: int) -> set[int]:
    """Channels with an open swap meant for them: no other refill is planned meanwhile."""
    s = swaps.c
    result = await reader.connection.execute(
        select(s.chan_id).where(
            s.node_id == node_id, s.state.in_(OPEN_STATES), s.chan_id.is_not(None)
        )
    )
    return {int(chan_id) for (chan_id,) in result}


async def recent(reader: StoreReader, *, limit: int = 50) -> list[SwapRecord]:
    """The latest swaps, newest first."""
    result = await reader.connection.execute(select(swaps).order_by(swaps.c.id.desc()).limit(limit))
    return [_swap(row) for row in result.mappings()]


async def events(reader: StoreReader, row_ids: Sequence[int]) -> list[SwapEvent]:
    """The journal of these swaps, oldest first."""
    if not row_ids:
        return []
    e = swap_events.c
    result = await reader.connection.execute(
        select(swap_events).where(e.swap_row_id.in_(list(row_ids))).order_by(e.id)
    )
    return [SwapEvent(**dict(row)) for row in result.mappings()]


def _swap(row: RowMapping) -> SwapRecord:
    return SwapRecord(**dict(row))
