"""The fee journal: every evaluation of the fee policy (a run) and every decision in it.

The fee engine must be able to prove what it did and why, including the decisions not to
act, and to undo a run. So each run is written whole, with one row per channel: the policy
before, the update decided (if any), whether it was sent and how the read-back turned out,
the reason in words and the inputs behind it (``detail``, JSON). The engine also reads its
memory back from here: the last controller state of each channel, and the updates sent in
the last day (the daily budget).

The journal joins the caller's transaction (``tx``), so that an applied run and the policy
history entries it causes commit together. Like the rest of the store, it knows nothing of
fee strategies: actions, outcomes and states are the engine's words, stored as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    RowMapping,
    String,
    Table,
    Text,
    func,
    select,
)

from lnpilot.base.domain import ChannelPolicy, PolicyUpdate
from lnpilot.store.coltypes import Id, Json, UtcDateTime
from lnpilot.store.database import insert_returning_id
from lnpilot.store.reads import StoreReader
from lnpilot.store.records import JsonValue
from lnpilot.store.tables import PUBKEY, metadata
from lnpilot.store.transaction import StoreTransaction

#: The policy fields a decision may change, as ``old_*`` and ``new_*`` columns.
POLICY_UPDATE_FIELDS = (
    ("base_fee_msat", BigInteger),
    ("fee_rate_ppm", BigInteger),
    ("inbound_base_fee_msat", BigInteger),
    ("inbound_fee_rate_ppm", BigInteger),
    ("min_htlc_msat", BigInteger),
    ("max_htlc_msat", BigInteger),
    ("cltv_delta", Integer),
)

fee_runs = Table(
    "fee_runs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("policy_digest", String(64)),
    Column("budget_limit", Integer),
    Column("budget_used", Integer),
    Column("rollback_of", Id, ForeignKey("fee_runs.id")),
    Index(None, "node_id", "at"),
)

fee_decisions = Table(
    "fee_decisions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("run_id", Id, ForeignKey("fee_runs.id"), nullable=False),
    Column("node_id", Integer, ForeignKey("nodes.id"), nullable=False),
    Column("chan_id", BigInteger),
    Column("scid", String(32)),
    Column("peer_pubkey", PUBKEY, nullable=False),
    Column("rule", String(64)),
    Column("action", String(16), nullable=False),
    Column("sent", Boolean, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(32)),
    Column("state_since", UtcDateTime),
    *(Column(f"old_{name}", kind) for name, kind in POLICY_UPDATE_FIELDS),
    *(Column(f"new_{name}", kind) for name, kind in POLICY_UPDATE_FIELDS),
    Column("error", Text),
    Column("detail", Json, nullable=False),
    Index(None, "run_id"),
    Index(None, "node_id", "chan_id", "id"),
)


@dataclass(frozen=True)
class FeeRun:
    """One evaluation; ``mode`` such as ``dry-run``, ``apply``, ``rollback``."""

    node_id: int
    at: datetime
    mode: str
    policy_digest: str | None = None
    budget_limit: int | None = None
    budget_used: int | None = None
    rollback_of: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class FeeDecision:
    """One channel's decision in a run.

    ``old`` is our policy as it was before (None when unknown); ``new`` the update decided
    (all None when nothing was to change); ``sent`` whether it went to the node, which is
    what the daily budget counts, whatever the read-back said.
    """

    peer_pubkey: str
    action: str
    outcome: str
    reason: str
    chan_id: int | None = None
    scid: str | None = None
    rule: str | None = None
    sent: bool = False
    state: str | None = None
    state_since: datetime | None = None
    old: ChannelPolicy | None = None
    new: PolicyUpdate = field(default_factory=PolicyUpdate)
    error: str | None = None
    detail: dict[str, JsonValue] = field(default_factory=dict)
    run_id: int | None = None
    id: int | None = None


async def record_run(tx: StoreTransaction, run: FeeRun, decisions: Sequence[FeeDecision]) -> int:
    """Write a run and its decisions; returns the run's id."""
    # The journal is part of the store: it takes the node's write lock like every writer.
    await tx.lock_node(run.node_id)
    conn = tx.connection
    run_id = await insert_returning_id(
        conn,
        fee_runs,
        dict(
            node_id=run.node_id,
            at=run.at,
            mode=run.mode,
            policy_digest=run.policy_digest,
            budget_limit=run.budget_limit,
            budget_used=run.budget_used,
            rollback_of=run.rollback_of,
        ),
    )
    if decisions:
        await conn.execute(fee_decisions.insert(), [_row(run, run_id, d) for d in decisions])
    return run_id


async def runs(reader: StoreReader, node_id: int, *, limit: int = 20) -> list[FeeRun]:
    """The node's latest runs, newest first."""
    result = await reader.connection.execute(
        select(fee_runs)
        .where(fee_runs.c.node_id == node_id)
        .order_by(fee_runs.c.id.desc())
        .limit(limit)
    )
    return [_run(row) for row in result.mappings()]


async def get_run(reader: StoreReader, run_id: int) -> FeeRun | None:
    result = await reader.connection.execute(select(fee_runs).where(fee_runs.c.id == run_id))
    row = result.mappings().one_or_none()
    return _run(row) if row is not None else None


async def run_decisions(reader: StoreReader, run_id: int) -> list[FeeDecision]:
    """A run's decisions in the order they were written."""
    result = await reader.connection.execute(
        select(fee_decisions).where(fee_decisions.c.run_id == run_id).order_by(fee_decisions.c.id)
    )
    return [_decision(row) for row in result.mappings()]


async def channel_decisions(
    reader: StoreReader, node_id: int, chan_id: int, *, limit: int = 50
) -> list[FeeDecision]:
    """One channel's latest decisions, newest first."""
    result = await reader.connection.execute(
        select(fee_decisions)
        .where(fee_decisions.c.node_id == node_id, fee_decisions.c.chan_id == chan_id)
        .order_by(fee_decisions.c.id.desc())
        .limit(limit)
    )
    return [_decision(row) for row in result.mappings()]


async def latest_states(reader: StoreReader, node_id: int) -> dict[int, tuple[str, datetime]]:
    """Each channel's controller state in its latest decision that had one, and since when."""
    latest = (
        select(func.max(fee_decisions.c.id))
        .where(fee_decisions.c.node_id == node_id, fee_decisions.c.state.is_not(None))
        .group_by(fee_decisions.c.chan_id)
    )
    result = await reader.connection.execute(
        select(fee_decisions.c.chan_id, fee_decisions.c.state, fee_decisions.c.state_since).where(
            fee_decisions.c.id.in_(latest)
        )
    )
    return {
        row.chan_id: (row.state, row.state_since)
        for row in result
        if row.chan_id is not None and row.state_since is not None
    }


async def sent_updates(
    reader: StoreReader, node_id: int, since: datetime
) -> list[tuple[int | None, datetime]]:
    """(chan_id, run time) of every update sent to the node after ``since``, oldest first."""
    result = await reader.connection.execute(
        select(fee_decisions.c.chan_id, fee_runs.c.at)
        .join(fee_runs, fee_runs.c.id == fee_decisions.c.run_id)
        .where(
            fee_decisions.c.node_id == node_id,
            fee_decisions.c.sent.is_(True),
            fee_runs.c.at > since,
        )
        .order_by(fee_runs.c.at, fee_decisions.c.id)
    )
    return [(row.chan_id, row.at) for row in result]


def _row(run: FeeRun, run_id: int, decision: FeeDecision) -> dict[str, Any]:
    row: dict[str, Any] = {
        "run_id": run_id,
        "node_id": run.node_id,
        "chan_id": decision.chan_id,
        "scid": decision.scid,
        "peer_pubkey": decision.peer_pubkey,
        "rule": decision.rule,
        "action": decision.action,
        "sent": decision.sent,
        "outcome": decision.outcome,
        "reason": decision.reason,
        "state": decision.state,
        "state_since": decision.state_since,
        "error": decision.error,
        "detail": decision.detail,
    }
    for name, _ in POLICY_UPDATE_FIELDS:
        row[f"old_{name}"] = getattr(decision.old, name) if decision.old else None
        row[f"new_{name}"] = getattr(decision.new, name)
    return row


def _run(row: RowMapping) -> FeeRun:
    return FeeRun(
        node_id=row["node_id"],
        at=row["at"],
        mode=row["mode"],
        policy_digest=row["policy_digest"],
        budget_limit=row["budget_limit"],
        budget_used=row["budget_used"],
        rollback_of=row["rollback_of"],
        id=row["id"],
    )


def _decision(row: RowMapping) -> FeeDecision:
    old = None
    if row["old_base_fee_msat"] is not None and row["old_fee_rate_ppm"] is not None:
        old = ChannelPolicy(**{name: row[f"old_{name}"] for name, _ in POLICY_UPDATE_FIELDS})
    return FeeDecision(
        peer_pubkey=row["peer_pubkey"],
        action=row["action"],
        outcome=row["outcome"],
        reason=row["reason"],
        chan_id=row["chan_id"],
        scid=row["scid"],
        rule=row["rule"],
        sent=row["sent"],
        state=row["state"],
        state_since=row["state_since"],
        old=old,
        new=PolicyUpdate(**{name: row[f"new_{name}"] for name, _ in POLICY_UPDATE_FIELDS}),
        error=row["error"],
        detail=row["detail"],
        run_id=row["run_id"],
        id=row["id"],
    )
