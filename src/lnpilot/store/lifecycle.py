"""The ends of a channel's life as lnpilot planned and ran them: plans, their journal, agreements.

A close (or an open) is a procedure of several steps spread over minutes or hours (HTLCs
settle when they settle), run by a process that may crash between any two of them. So the
plan is a row that says which step comes next, and every step taken, refused or waited on is
a journal row with its reason and who approved it: running the plan again reads where it
stopped and goes on from there, and the journal is the decision's documentation.

An agreement is what was agreed with a peer at open (name, note, fees, CLTV, reserve,
contact); a close archives it rather than deleting it, so a closed channel still shows it.

Like the rest of the store it knows nothing of the procedure: kinds, steps and outcomes
are the lifecycle engine's words, stored as text.
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
    select,
    update,
)

from lnpilot.base.domain import ChannelState, ClosedChannel
from lnpilot.store import convert
from lnpilot.store.coltypes import Id, Json, UtcDateTime
from lnpilot.store.database import insert_record
from lnpilot.store.reads import StoreReader
from lnpilot.store.records import JsonValue
from lnpilot.store.tables import PUBKEY, channels, metadata
from lnpilot.store.transaction import StoreTransaction

lifecycle_plans = Table(
    "lifecycle_plans",
    metadata,
    Column("id", Id, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("next_step", String(16)),
    Column("chan_id", BigInteger),
    Column("scid", String(32)),
    Column("channel_point", String(80)),
    Column("peer_pubkey", PUBKEY, nullable=False),
    Column("params", Json, nullable=False),
    Column("basis", Json, nullable=False),
    Column("result", Json, nullable=False),
    Index(None, "node_id", "id"),
)

lifecycle_steps = Table(
    "lifecycle_steps",
    metadata,
    Column("id", Id, primary_key=True),
    Column("plan_id", Id, ForeignKey("lifecycle_plans.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("step", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("approved_by", String(64)),
    Column("detail", Json, nullable=False),
    Index(None, "plan_id", "id"),
)

channel_agreements = Table(
    "channel_agreements",
    metadata,
    Column("id", Id, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id"), nullable=False),
    Column("peer_pubkey", PUBKEY, nullable=False),
    Column("channel_point", String(80)),
    Column("chan_id", BigInteger),
    Column("name", String(64)),
    Column("note", Text),
    Column("contact", String(256)),
    Column("terms", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("archived_at", UtcDateTime),
    Index(None, "node_id", "peer_pubkey"),
)


@dataclass(frozen=True)
class PlanRecord:
    """A stored plan; ``next_step`` None once it ended (``state`` says how)."""

    node_id: int
    kind: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    state: str
    next_step: str | None
    peer_pubkey: str
    chan_id: int | None = None
    scid: str | None = None
    channel_point: str | None = None
    params: dict[str, JsonValue] = field(default_factory=dict)
    basis: dict[str, JsonValue] = field(default_factory=dict)
    result: dict[str, JsonValue] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class StepRecord:
    """One journal line of a plan: a step taken, waited on, refused or failed, and why."""

    plan_id: int
    at: datetime
    step: str
    outcome: str
    reason: str
    approved_by: str | None = None
    detail: dict[str, JsonValue] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class Agreement:
    """What was agreed with the peer of a channel; ``terms`` holds fees, CLTV, reserve."""

    node_id: int
    peer_pubkey: str
    created_at: datetime
    channel_point: str | None = None
    chan_id: int | None = None
    name: str | None = None
    note: str | None = None
    contact: str | None = None
    terms: dict[str, JsonValue] = field(default_factory=dict)
    archived_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class ClosedRecord:
    """A closed channel as the store last saw it: the close, and what it knew of the channel
    while it was open (alias, when lnpilot first and last saw it, LND's lifetime figures)."""

    channel: ClosedChannel
    peer_alias: str | None
    first_seen_at: datetime
    closed_seen_at: datetime | None
    opened_at_height: int | None
    lifetime_s: int | None
    uptime_s: int | None
    total_sent_msat: int | None
    total_received_msat: int | None


# --- writes ------------------------------------------------------------------------------


async def add_plan(tx: StoreTransaction, plan: PlanRecord) -> int:
    return await insert_record(tx.connection, lifecycle_plans, plan)


async def advance_plan(
    tx: StoreTransaction,
    plan_id: int,
    at: datetime,
    *,
    state: str,
    next_step: str | None,
    result: dict[str, JsonValue] | None = None,
) -> None:
    """Move a plan on: its state, the step it resumes at, and (when given) its result."""
    values: dict[str, Any] = {"state": state, "next_step": next_step, "updated_at": at}
    if result is not None:
        values["result"] = result
    await tx.connection.execute(
        update(lifecycle_plans).where(lifecycle_plans.c.id == plan_id).values(values)
    )


async def add_step(tx: StoreTransaction, step: StepRecord) -> int:
    return await insert_record(tx.connection, lifecycle_steps, step)


async def add_agreement(tx: StoreTransaction, agreement: Agreement) -> int:
    return await insert_record(tx.connection, channel_agreements, agreement)


async def archive_agreements(
    tx: StoreTransaction, node_id: int, channel_point: str, at: datetime
) -> int:
    """Archive the live agreements of a channel; returns how many there were."""
    a = channel_agreements.c
    result = await tx.connection.execute(
        update(channel_agreements)
        .where(a.node_id == node_id, a.channel_point == channel_point, a.archived_at.is_(None))
        .values(archived_at=at)
    )
    return int(result.rowcount or 0)


# --- reads -------------------------------------------------------------------------------


async def plan(reader: StoreReader, plan_id: int) -> PlanRecord | None:
    result = await reader.connection.execute(
        select(lifecycle_plans).where(lifecycle_plans.c.id == plan_id)
    )
    row = result.mappings().one_or_none()
    return _plan(row) if row is not None else None


async def plans(
    reader: StoreReader, node_id: int, *, chan_id: int | None = None, limit: int = 50
) -> list[PlanRecord]:
    """The node's plans, newest first; of one channel when ``chan_id`` is given."""
    p = lifecycle_plans.c
    query = select(lifecycle_plans).where(p.node_id == node_id)
    if chan_id is not None:
        query = query.where(p.chan_id == chan_id)
    result = await reader.connection.execute(query.order_by(p.id.desc()).limit(limit))
    return [_plan(row) for row in result.mappings()]


async def steps(reader: StoreReader, plan_ids: Sequence[int]) -> list[StepRecord]:
    """The journal of the plans, oldest first."""
    s = lifecycle_steps.c
    result = await reader.connection.execute(
        select(lifecycle_steps).where(s.plan_id.in_(plan_ids)).order_by(s.id)
    )
    return [StepRecord(**dict(row)) for row in result.mappings()]


async def agreements(
    reader: StoreReader, node_id: int, channel_point: str | None = None
) -> list[Agreement]:
    """The node's agreements (archived ones too), of one channel when given; oldest first."""
    a = channel_agreements.c
    query = select(channel_agreements).where(a.node_id == node_id)
    if channel_point is not None:
        query = query.where(a.channel_point == channel_point)
    result = await reader.connection.execute(query.order_by(a.id))
    return [Agreement(**dict(row)) for row in result.mappings()]


async def live_agreements(reader: StoreReader, node_id: int) -> dict[str, Agreement]:
    """The node's agreements not archived yet, by channel point (the newest if several).

    Keyed by channel point because an agreement is stored once the channel confirms but a
    channel id may be missing from it; every open channel has its point. This is where the
    fee engine meets the lifecycle engine: it reads the agreed fees here, not from it.
    """
    a = channel_agreements.c
    result = await reader.connection.execute(
        select(channel_agreements)
        .where(a.node_id == node_id, a.archived_at.is_(None), a.channel_point.is_not(None))
        .order_by(a.id)
    )
    found: dict[str, Agreement] = {}
    for row in result.mappings():
        agreement = Agreement(**dict(row))
        assert agreement.channel_point is not None  # selected so
        found[agreement.channel_point] = agreement
    return found


async def closed_records(
    reader: StoreReader, node_id: int, chan_id: int | None = None
) -> list[ClosedRecord]:
    """The node's closed channels (or the one with ``chan_id``), most recently closed first."""
    c = channels.c
    query = select(channels).where(c.node_id == node_id, c.state == ChannelState.CLOSED.value)
    if chan_id is not None:
        query = query.where(c.chan_id == chan_id)
    result = await reader.connection.execute(query.order_by(c.closed_seen_at.desc(), c.id.desc()))
    return [
        ClosedRecord(
            channel=convert.closed_channel_from_row(row),
            peer_alias=row["peer_alias"],
            first_seen_at=row["first_seen_at"],
            closed_seen_at=row["closed_seen_at"],
            opened_at_height=row["opened_at_height"],
            lifetime_s=row["lifetime_s"],
            uptime_s=row["uptime_s"],
            total_sent_msat=row["total_sent_msat"],
            total_received_msat=row["total_received_msat"],
        )
        for row in result.mappings()
    ]


@dataclass(frozen=True)
class OnchainCost:
    """An on-chain fee a plan recorded for a channel it opened or closed (an estimate: the
    plan's fee rate times a typical transaction size, see docs/backups.md)."""

    at: datetime
    chan_id: int
    fee_sat: int


async def onchain_costs(reader: StoreReader, node_id: int) -> list[OnchainCost]:
    """The on-chain fees the node's plans recorded (result keys ``onchain_fee_sat`` and
    ``onchain_fee_at``, the plan's last update when the time is missing), oldest first.
    A plan that never learned its channel's id (an open whose funding did not confirm)
    cannot be charged to a channel and is left out. Plans are few (one per open or close
    lnpilot ran), so they are read whole."""
    result = await reader.connection.execute(
        select(lifecycle_plans).where(lifecycle_plans.c.node_id == node_id)
    )
    costs = []
    for plan in map(_plan, result.mappings()):
        fee_sat, at = plan.result.get("onchain_fee_sat"), plan.result.get("onchain_fee_at")
        chan_id = plan.chan_id if plan.chan_id is not None else plan.result.get("chan_id")
        if isinstance(fee_sat, int) and isinstance(chan_id, int):
            when = datetime.fromisoformat(at) if isinstance(at, str) else plan.updated_at
            costs.append(OnchainCost(when, chan_id, fee_sat))
    return sorted(costs, key=lambda cost: cost.at)


async def first_seen(reader: StoreReader, node_id: int) -> dict[int, datetime]:
    """When the collector first saw each of the node's confirmed channels, by channel id."""
    c = channels.c
    result = await reader.connection.execute(
        select(c.chan_id, c.first_seen_at).where(c.node_id == node_id, c.chan_id.is_not(None))
    )
    return {int(chan_id): at for chan_id, at in result}


def _plan(row: RowMapping) -> PlanRecord:
    return PlanRecord(**dict(row))
