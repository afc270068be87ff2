"""The rebalancing journal: every planning run, every channel's decision in it, every HTLC sent.

Rebalancers lose their users' trust when they spend without earning or do nothing without
saying why, so the rebalancer writes all of it here: a run (when, in which mode, the budget
room it saw), one decision per channel (rebalance it, use it as a source, or not, and the
reason in words, with the inputs behind it in ``detail``), and, for the rebalances executed,
each attempt with its route, amount, fee limit, fee paid, outcome and failure.

The journal is also the budget's ledger. An attempt is written *before* its HTLC is sent,
as ``in_flight`` with the fee of its fixed route, in the same transaction that read the
spending so far under the node's write lock (:func:`lock`): so concurrent rebalances, in one
process or several, can never commit more than the budget between them, and an attempt
whose outcome is never learnt (a crash, a timeout) keeps counting at its full fee.

Like the rest of the store it knows nothing of rebalancing policy: roles, actions and
outcomes are the rebalancer's words, stored as text.
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
    and_,
    case,
    func,
    or_,
    select,
    update,
)

from lnpilot.store.coltypes import Id, Json, UtcDateTime
from lnpilot.store.database import insert_record, insert_returning_id
from lnpilot.store.reads import StoreReader
from lnpilot.store.records import JsonValue
from lnpilot.store.tables import PUBKEY, metadata
from lnpilot.store.transaction import StoreTransaction

#: Attempt outcomes whose fee is committed: paid, or possibly being paid.
PAID = "succeeded"
PENDING = ("in_flight", "unknown")
#: Decision outcomes of a rebalance still being executed.
RUNNING = "running"

rebalance_runs = Table(
    "rebalance_runs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("trigger", String(64), nullable=False),
    Column("settings_digest", String(64)),
    Column("executor", String(32)),
    Column("budget_room_msat", BigInteger, nullable=False),
    Column("detail", Json, nullable=False),
    Index(None, "node_id", "at"),
)

rebalance_decisions = Table(
    "rebalance_decisions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("run_id", Id, ForeignKey("rebalance_runs.id"), nullable=False),
    Column("node_id", Integer, ForeignKey("nodes.id"), nullable=False),
    Column("chan_id", BigInteger),
    Column("scid", String(32)),
    Column("peer_pubkey", PUBKEY),
    Column("role", String(8), nullable=False),
    Column("action", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("direction", String(16)),
    Column("local_ratio_permille", Integer),
    Column("band_low_permille", Integer),
    Column("band_high_permille", Integer),
    Column("source_chan_id", BigInteger),
    Column("source_scid", String(32)),
    Column("amount_msat", BigInteger),
    Column("max_fee_ppm", BigInteger),
    Column("fee_limit_msat", BigInteger),
    Column("outcome", String(16), nullable=False),
    Column("moved_msat", BigInteger),
    Column("fee_paid_msat", BigInteger),
    Column("failure", Text),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("duration_ms", BigInteger),
    Column("detail", Json, nullable=False),
    Index(None, "run_id"),
    Index(None, "node_id", "chan_id", "id"),
    Index(None, "node_id", "outcome"),
)

rebalance_attempts = Table(
    "rebalance_attempts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("decision_id", Id, ForeignKey("rebalance_decisions.id"), nullable=False),
    Column("node_id", Integer, ForeignKey("nodes.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("amount_msat", BigInteger, nullable=False),
    Column("fee_limit_msat", BigInteger, nullable=False),
    Column("route_fee_msat", BigInteger),
    Column("fee_paid_msat", BigInteger),
    Column("outcome", String(16), nullable=False),
    Column("failure", Text),
    Column("failure_source_index", Integer),
    Column("failed_chan_id", BigInteger),
    Column("payment_hash", String(64)),
    Column("hops", Json, nullable=False),
    Column("duration_ms", BigInteger),
    Index(None, "node_id", "at"),
    Index(None, "decision_id"),
)


@dataclass(frozen=True)
class RebalanceRun:
    """One planning run; ``mode`` such as ``dry-run`` or ``apply``, ``trigger`` who asked."""

    node_id: int
    at: datetime
    mode: str
    trigger: str
    budget_room_msat: int
    settings_digest: str | None = None
    executor: str | None = None
    detail: dict[str, JsonValue] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class RebalanceDecision:
    """One channel's decision in a run; the execution fields are set once it ran."""

    role: str
    action: str
    reason: str
    outcome: str
    chan_id: int | None = None
    scid: str | None = None
    peer_pubkey: str | None = None
    direction: str | None = None
    local_ratio_permille: int | None = None
    band_low_permille: int | None = None
    band_high_permille: int | None = None
    source_chan_id: int | None = None
    source_scid: str | None = None
    amount_msat: int | None = None
    max_fee_ppm: int | None = None
    fee_limit_msat: int | None = None
    moved_msat: int | None = None
    fee_paid_msat: int | None = None
    failure: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    detail: dict[str, JsonValue] = field(default_factory=dict)
    run_id: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class AttemptRecord:
    """One HTLC of a rebalance (or a try that found no route, ``route_fee_msat`` None).

    ``hops`` is the route as sent: ``[{"chan_id", "pubkey", "fee_msat"}, ...]``.
    """

    decision_id: int
    node_id: int
    at: datetime
    amount_msat: int
    fee_limit_msat: int
    outcome: str
    route_fee_msat: int | None = None
    fee_paid_msat: int | None = None
    failure: str | None = None
    failure_source_index: int | None = None
    failed_chan_id: int | None = None
    payment_hash: str | None = None
    hops: list[JsonValue] = field(default_factory=list)
    duration_ms: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class LastRebalance:
    """The latest finished rebalance into a channel: what adapts the next amount."""

    outcome: str
    amount_msat: int
    moved_msat: int
    smallest_attempt_msat: int | None
    finished_at: datetime


# --- writes ------------------------------------------------------------------------------


async def lock(tx: StoreTransaction, node_id: int) -> None:
    """Take the node's write lock now, before reading what a write depends on (spending)."""
    await tx.lock_node(node_id)


async def record_run(
    tx: StoreTransaction, run: RebalanceRun, decisions: Sequence[RebalanceDecision]
) -> tuple[int, list[int]]:
    """Write a run and its decisions; returns the run's id and the decisions' ids, in order."""
    await tx.lock_node(run.node_id)
    conn = tx.connection
    run_id = await insert_record(conn, rebalance_runs, run)
    ids = []
    for decision in decisions:  # one by one: the ids are needed, in order, on both databases
        ids.append(
            await insert_returning_id(
                conn,
                rebalance_decisions,
                _decision_row(run, run_id, decision),
            )
        )
    return run_id, ids


async def start_rebalance(tx: StoreTransaction, decision_id: int, at: datetime) -> None:
    await tx.connection.execute(
        update(rebalance_decisions)
        .where(rebalance_decisions.c.id == decision_id)
        .values(outcome=RUNNING, started_at=at)
    )


async def finish_rebalance(
    tx: StoreTransaction,
    decision_id: int,
    *,
    outcome: str,
    moved_msat: int,
    fee_paid_msat: int,
    failure: str | None,
    finished_at: datetime,
    duration_ms: int,
) -> None:
    await tx.connection.execute(
        update(rebalance_decisions)
        .where(rebalance_decisions.c.id == decision_id)
        .values(
            outcome=outcome,
            moved_msat=moved_msat,
            fee_paid_msat=fee_paid_msat,
            failure=failure,
            finished_at=finished_at,
            duration_ms=duration_ms,
        )
    )


async def add_attempt(tx: StoreTransaction, attempt: AttemptRecord) -> int:
    """Write an attempt; one ``in_flight`` commits its route fee to the budget until settled."""
    await tx.lock_node(attempt.node_id)
    return await insert_record(tx.connection, rebalance_attempts, attempt)


async def settle_attempt(
    tx: StoreTransaction,
    attempt_id: int,
    *,
    outcome: str,
    fee_paid_msat: int | None,
    failure: str | None,
    failure_source_index: int | None,
    failed_chan_id: int | None,
    duration_ms: int,
) -> None:
    """Record what became of an ``in_flight`` attempt."""
    await tx.connection.execute(
        update(rebalance_attempts)
        .where(rebalance_attempts.c.id == attempt_id)
        .values(
            outcome=outcome,
            fee_paid_msat=fee_paid_msat,
            failure=failure,
            failure_source_index=failure_source_index,
            failed_chan_id=failed_chan_id,
            duration_ms=duration_ms,
        )
    )


# --- reads -------------------------------------------------------------------------------


async def spending(reader: StoreReader, node_id: int, since: Sequence[datetime]) -> list[int]:
    """Fees committed at or after each of ``since`` (msat): paid by succeeded attempts, plus
    the route fee of attempts in flight or of unknown outcome. One statement for all."""
    a = rebalance_attempts.c
    committed = case(
        (a.outcome == PAID, a.fee_paid_msat),
        (a.outcome.in_(PENDING), a.route_fee_msat),
        else_=0,
    )
    sums = [
        func.coalesce(func.sum(case((a.at >= start, committed), else_=0)), 0) for start in since
    ]
    if not sums:
        return []
    result = await reader.connection.execute(select(*sums).where(a.node_id == node_id))
    return [int(value) for value in result.one()]


async def spent_by_channel(
    reader: StoreReader, node_id: int, chan_ids: Sequence[int], since: datetime | None = None
) -> dict[int, int]:
    """Fees paid (msat) by finished rebalances into each of ``chan_ids`` (as the target),
    since ``since`` or ever: what the channel's liquidity cost to keep; channels without
    any are left out."""
    d = rebalance_decisions.c
    query = select(d.chan_id, func.sum(d.fee_paid_msat)).where(
        d.node_id == node_id, d.chan_id.in_(chan_ids), d.fee_paid_msat.is_not(None)
    )
    if since is not None:
        query = query.where(d.finished_at >= since)
    result = await reader.connection.execute(query.group_by(d.chan_id))
    return {int(chan_id): int(total) for chan_id, total in result if total}


@dataclass(frozen=True)
class Refilled:
    """What finished rebalances moved into one channel and paid for it."""

    moved_msat: int
    fee_paid_msat: int


async def refilled_by_channel(
    reader: StoreReader, node_id: int, since: datetime
) -> dict[int, Refilled]:
    """Per target channel, the liquidity finished rebalances moved into it since ``since``
    and the fees they paid: the fee engine prices the liquidity with it (engines meet in the
    store). Channels into which nothing was moved are left out."""
    d = rebalance_decisions.c
    query = (
        select(d.chan_id, func.sum(d.moved_msat), func.sum(func.coalesce(d.fee_paid_msat, 0)))
        .where(
            d.node_id == node_id,
            d.chan_id.is_not(None),
            d.moved_msat > 0,
            d.finished_at >= since,
        )
        .group_by(d.chan_id)
    )
    result = await reader.connection.execute(query)
    return {
        int(chan_id): Refilled(int(moved), int(paid)) for chan_id, moved, paid in result if moved
    }


async def busy_channels(reader: StoreReader, node_id: int, since: datetime) -> set[int]:
    """Channels (target or source) of rebalances started after ``since`` and not finished,
    or with an attempt of unknown outcome: no other rebalance may touch them now."""
    d = rebalance_decisions.c
    unknown = select(rebalance_attempts.c.decision_id).where(
        rebalance_attempts.c.node_id == node_id,
        rebalance_attempts.c.outcome.in_(PENDING),
        rebalance_attempts.c.at >= since,
    )
    result = await reader.connection.execute(
        select(d.chan_id, d.source_chan_id).where(
            d.node_id == node_id,
            or_(and_(d.outcome == RUNNING, d.started_at >= since), d.id.in_(unknown)),
        )
    )
    return {chan_id for row in result for chan_id in row if chan_id is not None}


async def last_rebalances(reader: StoreReader, node_id: int) -> dict[int, LastRebalance]:
    """Per target channel, its latest finished rebalance (the smallest amount tried in it
    tells how far probing went down)."""
    d = rebalance_decisions.c
    latest = (
        select(func.max(d.id))
        .where(d.node_id == node_id, d.finished_at.is_not(None), d.chan_id.is_not(None))
        .group_by(d.chan_id)
    )
    smallest = (
        select(func.min(rebalance_attempts.c.amount_msat))
        .where(rebalance_attempts.c.decision_id == d.id)
        .scalar_subquery()
    )
    result = await reader.connection.execute(
        select(d.chan_id, d.outcome, d.amount_msat, d.moved_msat, d.finished_at, smallest).where(
            d.id.in_(latest)
        )
    )
    return {
        row[0]: LastRebalance(
            outcome=row[1],
            amount_msat=row[2] or 0,
            moved_msat=row[3] or 0,
            smallest_attempt_msat=row[5],
            finished_at=row[4],
        )
        for row in result
    }


async def runs(reader: StoreReader, node_id: int, *, limit: int = 20) -> list[RebalanceRun]:
    """The node's latest runs, newest first."""
    result = await reader.connection.execute(
        select(rebalance_runs)
        .where(rebalance_runs.c.node_id == node_id)
        .order_by(rebalance_runs.c.id.desc())
        .limit(limit)
    )
    return [_run(row) for row in result.mappings()]


async def get_run(reader: StoreReader, run_id: int) -> RebalanceRun | None:
    """One run by its id (the dashboard's page of a run), None when there is none."""
    result = await reader.connection.execute(
        select(rebalance_runs).where(rebalance_runs.c.id == run_id)
    )
    row = result.mappings().one_or_none()
    return None if row is None else _run(row)


async def run_decisions(reader: StoreReader, run_id: int) -> list[RebalanceDecision]:
    """A run's decisions in the order they were written."""
    result = await reader.connection.execute(
        select(rebalance_decisions)
        .where(rebalance_decisions.c.run_id == run_id)
        .order_by(rebalance_decisions.c.id)
    )
    return [_decision(row) for row in result.mappings()]


async def executed(
    reader: StoreReader, node_id: int, since: datetime, *, chan_id: int | None = None
) -> list[RebalanceDecision]:
    """Rebalances started at or after ``since`` (into ``chan_id`` if given), oldest first."""
    d = rebalance_decisions.c
    query = select(rebalance_decisions).where(
        d.node_id == node_id, d.started_at.is_not(None), d.started_at >= since
    )
    if chan_id is not None:
        query = query.where(d.chan_id == chan_id)
    result = await reader.connection.execute(query.order_by(d.started_at, d.id))
    return [_decision(row) for row in result.mappings()]


async def attempts(reader: StoreReader, decision_ids: Sequence[int]) -> list[AttemptRecord]:
    """The attempts of these rebalances, in the order they were made."""
    if not decision_ids:
        return []
    result = await reader.connection.execute(
        select(rebalance_attempts)
        .where(rebalance_attempts.c.decision_id.in_(list(decision_ids)))
        .order_by(rebalance_attempts.c.id)
    )
    return [_attempt(row) for row in result.mappings()]


# --- rows --------------------------------------------------------------------------------

_DECISION_FIELDS = (
    "role",
    "action",
    "reason",
    "outcome",
    "chan_id",
    "scid",
    "peer_pubkey",
    "direction",
    "local_ratio_permille",
    "band_low_permille",
    "band_high_permille",
    "source_chan_id",
    "source_scid",
    "amount_msat",
    "max_fee_ppm",
    "fee_limit_msat",
    "moved_msat",
    "fee_paid_msat",
    "failure",
    "started_at",
    "finished_at",
    "duration_ms",
    "detail",
)


def _decision_row(run: RebalanceRun, run_id: int, decision: RebalanceDecision) -> dict[str, Any]:
    row = {name: getattr(decision, name) for name in _DECISION_FIELDS}
    return {**row, "run_id": run_id, "node_id": run.node_id}


def _run(row: RowMapping) -> RebalanceRun:
    return RebalanceRun(
        node_id=row["node_id"],
        at=row["at"],
        mode=row["mode"],
        trigger=row["trigger"],
        budget_room_msat=row["budget_room_msat"],
        settings_digest=row["settings_digest"],
        executor=row["executor"],
        detail=row["detail"],
        id=row["id"],
    )


def _decision(row: RowMapping) -> RebalanceDecision:
    return RebalanceDecision(
        **{name: row[name] for name in _DECISION_FIELDS}, run_id=row["run_id"], id=row["id"]
    )


def _attempt(row: RowMapping) -> AttemptRecord:
    names = [c.name for c in rebalance_attempts.columns]
    return AttemptRecord(**{name: row[name] for name in names})
