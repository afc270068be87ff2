"""Exports: forwards, fee changes, rebalances, payments and accounting, as CSV or JSON,
streamed from the store's read model (:mod:`lnpilot.store.exports`).

The output is produced in chunks while the rows arrive, so the CLI writes a year of a busy
node to a file, and the API sends it as a download, with memory that does not grow with the
range. JSON is one array of objects (keys are the CSV's header), written the same way.

Accounting is per channel and per period (day or month): fees earned (as the outgoing
channel of forwards, from the daily rollups), rebalancing spent (fees of executed
rebalances, charged to the channel whose liquidity they bought), on-chain costs of opening
and closing, and the net. On-chain costs are the estimates lnpilot's own opens and closes
recorded (the fee rate they asked for times a typical transaction size); a channel period
without one has that column empty rather than a guessed zero (opened or closed by hand, at
the node's own fee rate, or forced), and its net leaves on-chain costs out.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from lnpilot.base.domain import scid_from_chan_id
from lnpilot.store import Store
from lnpilot.store import exports as read_model
from lnpilot.store.exports import Export, Row
from lnpilot.store.lifecycle import onchain_costs
from lnpilot.store.reads import StoreReader


class ExportKind(enum.StrEnum):
    FORWARDS = "forwards"
    FEES = "fees"
    REBALANCES = "rebalances"
    PAYMENTS = "payments"
    ACCOUNTING = "accounting"


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    JSON = "json"


class Period(enum.StrEnum):
    DAY = "day"
    MONTH = "month"


MEDIA_TYPES = {ExportFormat.CSV: "text/csv", ExportFormat.JSON: "application/json"}
#: Rows per chunk handed to the writer: one write per chunk, not per row.
CHUNK_ROWS = 1000

ACCOUNTING_COLUMNS = (
    "period_start",
    "chan_id",
    "scid",
    "fees_earned_msat",
    "rebalance_spent_msat",
    "onchain_costs_sat",
    "net_msat",
)

_ROW_SOURCES: dict[ExportKind, Callable[[StoreReader, int, datetime, datetime], Export]] = {
    ExportKind.FORWARDS: read_model.forward_rows,
    ExportKind.FEES: read_model.fee_rows,
    ExportKind.REBALANCES: read_model.rebalance_rows,
    ExportKind.PAYMENTS: read_model.payment_rows,
}


def check_range(start: datetime, end: datetime) -> None:
    """Both ends timezone-aware and in order; raises ValueError saying which is wrong."""
    for name, value in (("--from", start), ("--to", end)):
        if value.tzinfo is None:
            raise ValueError(f"{name} {value.isoformat()} has no time zone; give UTC (Z)")
    if start >= end:
        raise ValueError(f"--from ({start.isoformat()}) must be before --to ({end.isoformat()})")


def _period_start(at: datetime, period: Period) -> date:
    day = at.astimezone(UTC).date()
    return day.replace(day=1) if period is Period.MONTH else day


async def accounting_rows(
    reader: StoreReader, node_id: int, start: datetime, end: datetime, period: Period
) -> AsyncIterator[Row]:
    """One row per (period, channel) with any activity, periods in order, channels by id:
    the accounting export's rows, and the dashboard's P&L page (one read model for both)."""
    earned: defaultdict[tuple[date, int], int] = defaultdict(int)
    spent: defaultdict[tuple[date, int], int] = defaultdict(int)
    async for day, chan_id, fee_msat in read_model.daily_fees_earned(reader, node_id, start, end):
        earned[_period_start(day, period), chan_id] += fee_msat
    async for at, chan_id, fee_msat in read_model.rebalance_fees_paid(reader, node_id, start, end):
        if chan_id is not None:
            spent[_period_start(at, period), chan_id] += fee_msat
    onchain: defaultdict[tuple[date, int], int] = defaultdict(int)
    for paid in await onchain_costs(reader, node_id):
        if start <= paid.at < end:
            onchain[_period_start(paid.at, period), paid.chan_id] += paid.fee_sat
    for key in sorted(earned.keys() | spent.keys() | onchain.keys()):
        period_start, chan_id = key
        fees, cost = earned.get(key, 0), spent.get(key, 0)
        chain_sat = onchain.get(key)
        net_msat = fees - cost - (chain_sat or 0) * 1000
        yield (period_start, chan_id, scid_from_chan_id(chan_id), fees, cost, chain_sat, net_msat)


@dataclass(frozen=True)
class Ledger:
    """Earned, rebalancing spent and on-chain costs over a period or a channel; net is what
    is left (msat; on-chain costs are whole sat on chain, kept as msat here)."""

    earned_msat: int = 0
    rebalancing_msat: int = 0
    onchain_msat: int = 0

    @property
    def net_msat(self) -> int:
        return self.earned_msat - self.rebalancing_msat - self.onchain_msat

    def plus(self, earned_msat: int = 0, rebalancing_msat: int = 0, onchain_sat: int = 0) -> Ledger:
        return Ledger(
            self.earned_msat + earned_msat,
            self.rebalancing_msat + rebalancing_msat,
            self.onchain_msat + onchain_sat * 1000,
        )


@dataclass(frozen=True)
class AccountingTotals:
    """The accounting of :func:`accounting_rows` summed per period and per channel."""

    total: Ledger
    by_period: dict[date, Ledger]
    by_channel: dict[int, Ledger]


async def accounting_totals(
    reader: StoreReader, node_id: int, start: datetime, end: datetime, period: Period
) -> AccountingTotals:
    """The same figures as :func:`accounting_rows`, from the same sources, summed per
    period and per channel rather than per both: the fees earned are grouped in the
    database (``fees_earned_grouped``), so the dashboard's P&L of a year costs two grouped
    statements. Rebalances and on-chain costs are few and are summed here."""
    by_period: dict[date, Ledger] = defaultdict(Ledger)
    by_channel: dict[int, Ledger] = defaultdict(Ledger)
    per_day, per_channel = await read_model.fees_earned_grouped(reader, node_id, start, end)
    for day, fee_msat in per_day:
        key = _period_start(day, period)
        by_period[key] = by_period[key].plus(earned_msat=fee_msat)
    for chan_id, fee_msat in per_channel.items():
        by_channel[chan_id] = by_channel[chan_id].plus(earned_msat=fee_msat)
    async for at, chan_id, fee_msat in read_model.rebalance_fees_paid(reader, node_id, start, end):
        if chan_id is not None:
            key = _period_start(at, period)
            by_period[key] = by_period[key].plus(rebalancing_msat=fee_msat)
            by_channel[chan_id] = by_channel[chan_id].plus(rebalancing_msat=fee_msat)
    for paid in await onchain_costs(reader, node_id):
        if start <= paid.at < end:
            key = _period_start(paid.at, period)
            by_period[key] = by_period[key].plus(onchain_sat=paid.fee_sat)
            by_channel[paid.chan_id] = by_channel[paid.chan_id].plus(onchain_sat=paid.fee_sat)
    total = Ledger(
        sum(ledger.earned_msat for ledger in by_period.values()),
        sum(ledger.rebalancing_msat for ledger in by_period.values()),
        sum(ledger.onchain_msat for ledger in by_period.values()),
    )
    return AccountingTotals(total, dict(sorted(by_period.items())), dict(by_channel))


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def _chunks(rows: AsyncIterator[Row]) -> AsyncIterator[list[Row]]:
    chunk: list[Row] = []
    async for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _csv(columns: tuple[str, ...], rows: AsyncIterator[Row]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    yield buffer.getvalue()
    async for chunk in _chunks(rows):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([[_value(v) for v in row] for row in chunk])
        yield buffer.getvalue()


async def _json(columns: tuple[str, ...], rows: AsyncIterator[Row]) -> AsyncIterator[str]:
    yield "["
    separator = "\n"
    async for chunk in _chunks(rows):
        parts = []
        for row in chunk:
            parts.append(separator + json.dumps(dict(zip(columns, map(_value, row), strict=True))))
            separator = ",\n"
        yield "".join(parts)
    yield "\n]\n"


async def export(
    store: Store,
    node_id: int,
    kind: ExportKind,
    start: datetime,
    end: datetime,
    fmt: ExportFormat,
    *,
    period: Period = Period.MONTH,
) -> AsyncGenerator[str, None]:
    """The export as text chunks, read from one snapshot of the store."""
    check_range(start, end)
    async with store.read() as reader:
        if kind is ExportKind.ACCOUNTING:
            found = Export(ACCOUNTING_COLUMNS, accounting_rows(reader, node_id, start, end, period))
        else:
            found = _ROW_SOURCES[kind](reader, node_id, start, end)
        render = _csv if fmt is ExportFormat.CSV else _json
        async for text in render(found.columns, found.rows):
            yield text
