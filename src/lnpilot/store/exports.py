"""The store's read model for exports: each history as rows streamed in batches.

An export may cover a year of a busy node (millions of forwards), so nothing here loads a
whole result: each query runs on a server-side cursor (asyncpg) or a stepped SQLite cursor
and hands rows on ``BATCH_ROWS`` at a time; memory stays flat however long the range.
Rows are plain tuples in the order of their ``columns``; times are UTC datetimes, amounts
integers with their unit in the column name. Ranges are half-open, ``[start, end)``.

Accounting reads the daily rollups, not the raw forwards, so it reaches as far back as the
rollups are kept (beyond the raw retention).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select

from lnpilot.base.domain import scid_from_chan_id
from lnpilot.store.levels import Resolution, epoch_ns, time_from_ns
from lnpilot.store.reads import StoreReader
from lnpilot.store.rebalances import rebalance_attempts, rebalance_decisions, rebalance_runs
from lnpilot.store.records import Direction
from lnpilot.store.tables import channel_flows, forwards, nodes, policy_history

#: Rows fetched per round trip: large enough to amortise it, small enough to stay flat.
BATCH_ROWS = 2000

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Export:
    """A named stream of rows with its column names."""

    columns: tuple[str, ...]
    rows: AsyncIterator[Row]


async def _stream(reader: StoreReader, query: Select[Any]) -> AsyncIterator[Row]:
    result = await reader.connection.stream(query.execution_options(yield_per=BATCH_ROWS))
    async for partition in result.partitions():
        for row in partition:
            yield tuple(row)


def _scid(chan_id: int | None) -> str | None:
    return scid_from_chan_id(chan_id) if chan_id is not None else None


FORWARD_COLUMNS = (
    "at",
    "timestamp_ns",
    "chan_id_in",
    "scid_in",
    "chan_id_out",
    "scid_out",
    "amt_in_msat",
    "amt_out_msat",
    "fee_msat",
)


def forward_rows(reader: StoreReader, node_id: int, start: datetime, end: datetime) -> Export:
    f = forwards.c
    query = (
        select(
            f.timestamp_ns, f.chan_id_in, f.chan_id_out, f.amt_in_msat, f.amt_out_msat, f.fee_msat
        )
        .where(
            f.node_id == node_id,
            f.timestamp_ns >= epoch_ns(start),
            f.timestamp_ns < epoch_ns(end),
        )
        .order_by(f.timestamp_ns, f.id)
    )

    async def rows() -> AsyncIterator[Row]:
        async for ns, cin, cout, amt_in, amt_out, fee in _stream(reader, query):
            yield (time_from_ns(ns), ns, cin, _scid(cin), cout, _scid(cout), amt_in, amt_out, fee)

    return Export(FORWARD_COLUMNS, rows())


FEE_COLUMNS = (
    "at",
    "chan_id",
    "scid",
    "source",
    "base_fee_msat",
    "fee_rate_ppm",
    "inbound_base_fee_msat",
    "inbound_fee_rate_ppm",
    "min_htlc_msat",
    "max_htlc_msat",
    "cltv_delta",
    "disabled",
)


def fee_rows(reader: StoreReader, node_id: int, start: datetime, end: datetime) -> Export:
    """Each change of our side's policy (fees, HTLC limits, CLTV, disabled), by whomever."""
    p = policy_history.c
    query = (
        select(p.at, p.chan_id, p.source, *(p[c] for c in FEE_COLUMNS[4:]))
        .where(
            p.node_id == node_id,
            p.direction == Direction.LOCAL.value,
            p.at >= start,
            p.at < end,
        )
        .order_by(p.at, p.id)
    )

    async def rows() -> AsyncIterator[Row]:
        async for at, chan_id, source, *policy in _stream(reader, query):
            yield (at, chan_id, _scid(chan_id), source, *policy)

    return Export(FEE_COLUMNS, rows())


REBALANCE_COLUMNS = (
    "at",
    "run_id",
    "mode",
    "chan_id",
    "scid",
    "source_chan_id",
    "source_scid",
    "amount_msat",
    "moved_msat",
    "fee_paid_msat",
    "outcome",
    "reason",
)


def rebalance_rows(reader: StoreReader, node_id: int, start: datetime, end: datetime) -> Export:
    """Every rebalance planned (dry runs included, by their ``mode``) and what became of it."""
    d, r = rebalance_decisions.c, rebalance_runs.c
    query = (
        select(
            r.at,
            r.id,
            r.mode,
            d.chan_id,
            d.source_chan_id,
            d.amount_msat,
            d.moved_msat,
            d.fee_paid_msat,
            d.outcome,
            d.reason,
        )
        .join_from(rebalance_decisions, rebalance_runs, d.run_id == r.id)
        .where(d.node_id == node_id, d.amount_msat.is_not(None), r.at >= start, r.at < end)
        .order_by(r.at, d.id)
    )

    async def rows() -> AsyncIterator[Row]:
        async for at, run_id, mode, cid, source, *rest in _stream(reader, query):
            yield (at, run_id, mode, cid, _scid(cid), source, _scid(source), *rest)

    return Export(REBALANCE_COLUMNS, rows())


PAYMENT_COLUMNS = (
    "at",
    "payment_hash",
    "amount_msat",
    "route_fee_msat",
    "fee_paid_msat",
    "outcome",
    "failure",
    "rebalance_decision_id",
)


def payment_rows(reader: StoreReader, node_id: int, start: datetime, end: datetime) -> Export:
    """The payments lnpilot itself made (rebalancing attempts), settled or not; wallet
    payments are LNbits' own history."""
    a = rebalance_attempts.c
    query = (
        select(
            a.at,
            a.payment_hash,
            a.amount_msat,
            a.route_fee_msat,
            a.fee_paid_msat,
            a.outcome,
            a.failure,
            a.decision_id,
        )
        .where(a.node_id == node_id, a.at >= start, a.at < end)
        .order_by(a.at, a.id)
    )
    return Export(PAYMENT_COLUMNS, _stream(reader, query))


def daily_fees_earned(
    reader: StoreReader, node_id: int, start: datetime, end: datetime
) -> AsyncIterator[Row]:
    """(day, chan_id, fee_out_msat) from the daily rollup: the fees a channel earned as
    the outgoing side of forwards, which is where LND credits them."""
    flows = channel_flows[Resolution.DAY].c
    query = (
        select(flows.bucket_start, flows.chan_id, flows.fee_out_msat)
        .where(
            flows.node_id == node_id,
            flows.bucket_start >= start,
            flows.bucket_start < end,
            flows.fee_out_msat > 0,
        )
        .order_by(flows.bucket_start, flows.chan_id)
    )
    return _stream(reader, query)


async def fees_earned_grouped(
    reader: StoreReader, node_id: int, start: datetime, end: datetime
) -> tuple[list[tuple[datetime, int]], dict[int, int]]:
    """What :func:`daily_fees_earned` streams, summed in the database: per day (oldest
    first) and per channel. Two grouped statements instead of a row per channel and day, so
    a year of 200 channels is hundreds of rows read, not tens of thousands."""
    flows = channel_flows[Resolution.DAY].c
    where = (
        flows.node_id == node_id,
        flows.bucket_start >= start,
        flows.bucket_start < end,
        flows.fee_out_msat > 0,
    )
    total = func.sum(flows.fee_out_msat)
    days = await reader.connection.execute(
        select(flows.bucket_start, total)
        .where(*where)
        .group_by(flows.bucket_start)
        .order_by(flows.bucket_start)
    )
    channels = await reader.connection.execute(
        select(flows.chan_id, total).where(*where).group_by(flows.chan_id)
    )
    return (
        [(day, int(fee)) for day, fee in days],
        {chan_id: int(fee) for chan_id, fee in channels},
    )


def rebalance_fees_paid(
    reader: StoreReader, node_id: int, start: datetime, end: datetime
) -> AsyncIterator[Row]:
    """(finished_at, target chan_id, fee_paid_msat) of executed rebalances: the cost is the
    target channel's, whose liquidity it bought."""
    d = rebalance_decisions.c
    query = (
        select(d.finished_at, d.chan_id, d.fee_paid_msat)
        .where(
            and_(
                d.node_id == node_id,
                d.fee_paid_msat > 0,
                d.finished_at >= start,
                d.finished_at < end,
            )
        )
        .order_by(d.finished_at, d.id)
    )
    return _stream(reader, query)


async def node_ids(reader: StoreReader) -> dict[str, int]:
    """Every node the store holds, by pubkey: an export names one."""
    result = await reader.connection.execute(select(nodes.c.pubkey, nodes.c.id))
    return {pubkey: node_id for pubkey, node_id in result}
