"""Backtests started through the API or the dashboard: what was asked, where each stands, and
its report once done.

A backtest runs for minutes in a process of its own, so the daemon may restart under it: the
row is written before the run starts (state ``running``), its progress as it goes, and the
report (``lnpilot backtest --json``'s data) at the end, so a finished backtest is still there
after a restart and one that was running when the daemon stopped is found and marked
``interrupted`` at the next start instead of being shown as running for ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
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

from lnpilot.store.coltypes import Id, Json, UtcDateTime
from lnpilot.store.database import insert_record
from lnpilot.store.reads import StoreReader
from lnpilot.store.records import JsonValue
from lnpilot.store.tables import metadata
from lnpilot.store.transaction import StoreTransaction

BacktestState = Literal["running", "done", "failed", "interrupted"]
RUNNING: BacktestState = "running"
#: Why a backtest is interrupted: the daemon that ran it stopped.
INTERRUPTED = "the daemon stopped while it ran; start it again"

backtests = Table(
    "backtests",
    metadata,
    Column("id", Id, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id")),
    Column("state", String(16), nullable=False),
    Column("current", String(128), nullable=False),
    Column("candidate", String(128), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("runs_done", Integer, nullable=False),
    Column("runs_total", Integer, nullable=False),
    Column("options", Json, nullable=False),
    Column("error", Text),
    Column("report", Json),
    Index(None, "state"),
)


@dataclass(frozen=True)
class BacktestRecord:
    """One backtest: `current` and `candidate` name the policies; `options` are the days,
    seeds and warm-up it was asked for; `runs_done` of `runs_total` lab runs are over;
    `report` is ``lnpilot backtest --json``'s data once `state` is ``done``, `error` why it
    stopped when ``failed`` or ``interrupted``."""

    state: BacktestState
    current: str
    candidate: str
    created_by: str
    created_at: datetime
    runs_total: int
    options: dict[str, JsonValue]
    node_id: int | None = None
    runs_done: int = 0
    finished_at: datetime | None = None
    error: str | None = None
    report: dict[str, Any] | None = field(default=None, repr=False)
    id: int | None = None


async def add(tx: StoreTransaction, record: BacktestRecord) -> int:
    """Store a backtest before it runs; returns its id."""
    return await insert_record(tx.connection, backtests, record)


async def progress(tx: StoreTransaction, backtest_id: int, runs_done: int, runs_total: int) -> None:
    await tx.connection.execute(
        update(backtests)
        .where(backtests.c.id == backtest_id, backtests.c.state == RUNNING)
        .values(runs_done=runs_done, runs_total=runs_total)
    )


async def finish(
    tx: StoreTransaction,
    backtest_id: int,
    at: datetime,
    state: BacktestState,
    *,
    report: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """A running backtest's end: its report, or why it has none. One that ended already
    (marked interrupted meanwhile) is left as it is."""
    values: dict[str, Any] = {"state": state, "finished_at": at, "report": report, "error": error}
    if report is not None:
        values["runs_done"] = backtests.c.runs_total
    await tx.connection.execute(
        update(backtests)
        .where(backtests.c.id == backtest_id, backtests.c.state == RUNNING)
        .values(values)
    )


async def interrupt_running(tx: StoreTransaction, at: datetime) -> int:
    """Mark every backtest still running as interrupted (at a daemon's start, nothing of
    its can be running); returns how many."""
    result = await tx.connection.execute(
        update(backtests)
        .where(backtests.c.state == RUNNING)
        .values(state="interrupted", finished_at=at, error=INTERRUPTED)
    )
    return int(result.rowcount or 0)


async def get(reader: StoreReader, backtest_id: int) -> BacktestRecord | None:
    result = await reader.connection.execute(select(backtests).where(backtests.c.id == backtest_id))
    row = result.mappings().one_or_none()
    return _record(row) if row is not None else None


async def recent(reader: StoreReader, *, limit: int = 20) -> list[BacktestRecord]:
    """The latest backtests, newest first, without their reports (a list shows states)."""
    columns = [c for c in backtests.c if c.name != "report"]
    result = await reader.connection.execute(
        select(*columns).order_by(backtests.c.id.desc()).limit(limit)
    )
    return [_record(row) for row in result.mappings()]


async def running(reader: StoreReader) -> list[int]:
    """Ids of the backtests marked running."""
    result = await reader.connection.execute(
        select(backtests.c.id).where(backtests.c.state == RUNNING).order_by(backtests.c.id)
    )
    return [int(i) for (i,) in result]


def _record(row: RowMapping) -> BacktestRecord:
    return BacktestRecord(**dict(row))
