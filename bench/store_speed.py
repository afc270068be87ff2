"""How fast the store takes in forwards and answers the dashboard, each figure next to a
reference measured in the same run (machines are noisy: compare ratios across runs).

- ``ingest_forwards_per_s_sqlite`` (target >= 50000): ``Forward`` objects appended on SQLite through
  ``StoreTransaction.append_forwards``, ``BATCH`` per transaction, as a collector catching up
  on LND's forwarding history does; deduplication on. Reference: the same rows as ready-made
  tuples through bare ``sqlite3`` ``executemany`` (``INSERT OR IGNORE``) into a database
  migrated the same way: what SQLite itself costs, so the ratio is what the store adds
  (conversion, SQLAlchemy, the async driver's thread hop). Rounds alternate the two sides.
- ``ingest_forwards_per_s_postgresql`` (target >= 100000, with ``--url``): the same on
  PostgreSQL, each round in a fresh database; reference: bare asyncpg ``COPY`` of the same
  tuples into ``forwards`` (its month partitions made beforehand), without deduplication.
- ``retention_<db>_batched_*`` against ``retention_<db>_one_delete_*``: forwards kept 30
  days out of 120, deleted by the store's retention (batches; partition drops on
  PostgreSQL) against one ``DELETE`` in one transaction; the longest transaction of each,
  and on PostgreSQL the disk ``forwards`` takes after.
- ``dashboard_query_ms`` (target <= 100): a year of hourly rollups for 500 channels
  (4.38 million rows each for balances and flows, and the daily rollups they give) is
  written straight into the rollup tables; then one dashboard overview load is timed, at
  14:00 so windows have ragged edges: the channel table (every channel's forwards, volumes
  and fees over the 7 days up to now, ``channel_totals``: the days from the first midnight
  on, the hours before it) and one channel's chart over the year (``channel_series`` at the
  resolution it picks: daily).
  Reference: the very SQL statements the store issued, captured and replayed through bare
  ``sqlite3``. Heavier reads are reported apart, for information: all channels' totals over
  30 days and over the year, one channel's year at hourly resolution (8760 points).
- ``collect_cycle_s_1000ch`` (target <= 2): one full collector cycle for a simulated node
  with 1000 channels, read over loopback through ``LndRest`` from the simulator's LND face:
  the node's reads (channels, pending, closed, peers, 1000 graph edges for both policies,
  forwarding history), one transaction recording it all (1000 channel rows and snapshots,
  policies, peers, the forwards and events), and the rollup; after a simulated minute of
  300 payments through the node and 10 fee changes by peers. Reference: the same node
  reads alone (``collect.observe``, nothing recorded) just before each cycle;
  ``collect_store_s_1000ch`` is the part of each cycle spent in the store (the transaction
  and the rollup). The simulated node runs in a process of its own, as LND does.
- ``load_avg_1m``: the machine's load when the run ended; other work skews the absolutes.

Prints ``name=value`` lines. Runs in about a minute; ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import os
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, event, text
from sqlalchemy.engine import URL, make_url

from lnpilot.base.domain import Forward, NodeInfo
from lnpilot.collect import Collector
from lnpilot.collect.collector import DEFAULT_MAX_FORWARDS
from lnpilot.collect.observe import observe
from lnpilot.devtools.pg_database import FreshPgDatabase
from lnpilot.node import LndRest
from lnpilot.simnet.lnd_rest import FaceServer
from lnpilot.simnet.lnd_rest.app import create_app
from lnpilot.simnet.model import Node, Policy
from lnpilot.simnet.network import NetworkConfig, SimNetwork
from lnpilot.simnet.our_node import OurNode
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.secp256k1 import pubkey_of
from lnpilot.store import (
    FlowStats,
    Resolution,
    Store,
    normalize_url,
    partitions,
    sqlite_url,
    upgrade,
)
from lnpilot.store.database import SQLITE_FILE_NAME, writing
from lnpilot.store.levels import EPOCH, Retention, bucket_floor, time_from_ns
from lnpilot.store.retention import BATCH_ROWS as RETENTION_BATCH_ROWS
from lnpilot.store.retention import apply_retention
from lnpilot.store.tables import forwards as forwards_table
from lnpilot.store.tables import rollup_watermarks

INGEST_TARGET_PER_S = 50_000
PG_INGEST_TARGET_PER_S = 100_000
DASHBOARD_TARGET_MS = 100
BATCH = 5_000
CHANNELS = 500
NOW = datetime(2025, 6, 1, 14, tzinfo=UTC)  # mid-afternoon: windows have ragged edges
FIRST_CHAN_ID = 800_000 << 40

Figures = dict[str, float | int | str]


# --- forwards ingest -------------------------------------------------------------------------


def make_forwards(count: int, seed: int) -> list[Forward]:
    """A node's forwarding history: random channel pairs, a few seconds apart."""
    rng = random.Random(seed)
    ns = (NOW - timedelta(days=30) - EPOCH) // timedelta(microseconds=1) * 1000
    made = []
    for htlc in range(count):
        ns += rng.randint(1, 20_000_000_000)
        cin, cout = rng.sample(range(CHANNELS), 2)
        amt_out = rng.randint(1_000, 5_000_000_000)
        fee = amt_out * rng.randint(1, 2000) // 1_000_000 + 1000
        made.append(
            Forward(
                timestamp=EPOCH + timedelta(microseconds=ns // 1000),
                timestamp_ns=ns,
                chan_id_in=FIRST_CHAN_ID + cin,
                chan_id_out=FIRST_CHAN_ID + cout,
                amt_in_msat=amt_out + fee,
                amt_out_msat=amt_out,
                fee_msat=fee,
                incoming_htlc_id=htlc,
                outgoing_htlc_id=htlc,
            )
        )
    return made


async def ingest_through_store(url: str | URL, forwards: list[Forward]) -> tuple[float, int]:
    """Seconds to append ``forwards`` batch by batch, and how many a re-read re-inserted."""
    async with await Store.open(url) as store:
        async with store.transaction() as tx:
            node = await tx.upsert_node(NodeInfo("02" + "ab" * 32, "bench", 900_000, True), NOW)
        started = time.perf_counter()
        for i in range(0, len(forwards), BATCH):
            async with store.transaction() as tx:
                await tx.append_forwards(node, forwards[i : i + BATCH])
        elapsed = time.perf_counter() - started
        async with store.transaction() as tx:
            again = await tx.append_forwards(node, forwards[-BATCH:])
    return elapsed, again


def forward_tuples(forwards: list[Forward]) -> list[tuple[int | None, ...]]:
    """The rows of ``forwards`` for node 1, as the bare references take them."""
    return [
        (
            1,
            f.timestamp_ns,
            f.chan_id_in,
            f.chan_id_out,
            f.amt_in_msat,
            f.amt_out_msat,
            f.fee_msat,
            f.incoming_htlc_id,
            f.outgoing_htlc_id,
        )
        for f in forwards
    ]


async def ingest_bare_sqlite(path: Path, forwards: list[Forward]) -> float:
    """Seconds for bare sqlite3 to take the same rows, prepared as tuples beforehand."""
    await upgrade(sqlite_url(path))
    rows = forward_tuples(forwards)
    db = sqlite3.connect(path / SQLITE_FILE_NAME, isolation_level=None)
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "INSERT INTO nodes (id, pubkey, first_seen_at, last_seen_at) VALUES (1, 'x', '', '')"
    )
    sql = (
        "INSERT OR IGNORE INTO forwards (node_id, timestamp_ns, chan_id_in, chan_id_out,"
        " amt_in_msat, amt_out_msat, fee_msat, incoming_htlc_id, outgoing_htlc_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    started = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(sql, rows[i : i + BATCH])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


async def ingest_bare_postgresql(url: URL, forwards: list[Forward]) -> float:
    """Seconds for bare asyncpg to COPY the same rows straight into ``forwards`` (into its
    monthly partitions, made beforehand), one transaction per batch: PostgreSQL's floor (no
    deduplication, which COPY cannot do)."""
    async with await Store.open(url) as store, writing(store.engine) as conn:
        # the months' partitions made beforehand, outside the timing, as the store does
        keys = [{"timestamp_ns": f.timestamp_ns} for f in forwards]
        await partitions.ensure_for_rows(conn, forwards_table, keys)
    rows = forward_tuples(forwards)
    db = await asyncpg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        await db.execute(
            "INSERT INTO nodes (id, pubkey, first_seen_at, last_seen_at)"
            " VALUES (1, 'x', now(), now())"
        )
        started = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            async with db.transaction():
                await db.copy_records_to_table(
                    "forwards", records=rows[i : i + BATCH], columns=FORWARD_COLUMNS
                )
        elapsed = time.perf_counter() - started
    finally:
        await db.close()
    return elapsed


FORWARD_COLUMNS = (
    "node_id",
    "timestamp_ns",
    "chan_id_in",
    "chan_id_out",
    "amt_in_msat",
    "amt_out_msat",
    "fee_msat",
    "incoming_htlc_id",
    "outgoing_htlc_id",
)


class _Database:
    """Where one side of one round runs: a SQLite directory or a fresh PostgreSQL database."""

    def __init__(self, work: Path, name: str, pg_server: URL | None) -> None:
        self._path = work / name
        self._fresh = FreshPgDatabase(pg_server, "lnpilot_bench") if pg_server else None

    async def __aenter__(self) -> Path | URL:
        return self._path if self._fresh is None else await self._fresh.__aenter__()

    async def __aexit__(self, *exc_info: object) -> None:
        if self._fresh is not None:
            await self._fresh.__aexit__(*exc_info)


async def measure_ingest(
    work: Path, count: int, rounds: int, pg_server: URL | None = None
) -> Figures:
    """Store against bare driver on SQLite, or on PostgreSQL when ``pg_server`` is given
    (each round in a fresh database there); figures named ``forwards_ingest_*`` for SQLite,
    ``forwards_ingest_postgresql_*`` for PostgreSQL."""
    forwards = make_forwards(count, seed=1)
    store_s, bare_s, reinserted = [], [], 0
    db = "postgresql" if pg_server else "sqlite"

    async def bare(where: Path | URL) -> float:
        if isinstance(where, Path):
            return await ingest_bare_sqlite(where, forwards)
        return await ingest_bare_postgresql(where, forwards)

    async def through_store(where: Path | URL) -> tuple[float, int]:
        return await ingest_through_store(
            sqlite_url(where) if isinstance(where, Path) else where, forwards
        )

    for n in range(rounds):
        order = ("bare", "store") if n % 2 == 0 else ("store", "bare")
        for side in order:
            async with _Database(work, f"ingest-{side}-{n}", pg_server) as where:
                if side == "bare":
                    bare_s.append(await bare(where))
                else:
                    elapsed, again = await through_store(where)
                    store_s.append(elapsed)
                    reinserted += again
    per_s = count / statistics.median(store_s)
    bare_per_s = count / statistics.median(bare_s)
    prefix = "forwards_ingest" if db == "sqlite" else "forwards_ingest_postgresql"
    reference = "bare_sqlite3" if db == "sqlite" else "bare_asyncpg_copy"
    return {
        f"ingest_forwards_per_s_{db}": round(per_s),
        f"{prefix}_target_per_s": INGEST_TARGET_PER_S if db == "sqlite" else PG_INGEST_TARGET_PER_S,
        f"{prefix}_batch": BATCH,
        f"{prefix}_{reference}_per_s": round(bare_per_s),
        f"{prefix}_ratio_store_vs_bare": round(bare_per_s / per_s, 2),
        f"{prefix}_reread_inserted": reinserted,
    }


# --- retention --------------------------------------------------------------------------------

RETENTION_DAYS_SPANNED = 120
RETENTION_KEEP = timedelta(days=30)


def spread_forwards(count: int) -> list[Forward]:
    """``make_forwards``' rows, re-timed evenly over the ``RETENTION_DAYS_SPANNED`` days
    before ``NOW``: three months and more past a 30-day retention."""
    start_ns = (
        (NOW - timedelta(days=RETENTION_DAYS_SPANNED) - EPOCH) // timedelta(microseconds=1) * 1000
    )
    step_ns = RETENTION_DAYS_SPANNED * 86_400 * 10**9 // count
    return [
        dataclasses.replace(
            f, timestamp_ns=start_ns + i * step_ns, timestamp=time_from_ns(start_ns + i * step_ns)
        )
        for i, f in enumerate(make_forwards(count, seed=2))
    ]


async def retention_run(
    url: str | URL, forwards: list[Forward], batch_rows: int | None
) -> tuple[float, float, int, int | None]:
    """Forwards kept 30 days: seconds for the retention run, the longest transaction in it
    (SQLite's write lock is held that long), rows deleted, and on PostgreSQL the bytes
    ``forwards`` takes on disk after it (a DELETE leaves dead rows until a VACUUM FULL).
    ``batch_rows`` None: the reference, one ``DELETE`` of the same rows in one transaction,
    as retention did before batches. The rollup watermark is set past every row, as if rolled up."""
    async with await Store.open(url, retention=Retention(forwards=RETENTION_KEEP)) as store:
        async with store.transaction() as tx:
            node = await tx.upsert_node(NodeInfo("02" + "ef" * 32, "bench", 900_000, True), NOW)
        for i in range(0, len(forwards), BATCH):
            async with store.transaction() as tx:
                await tx.append_forwards(node, forwards[i : i + BATCH])
        async with writing(store.engine) as conn:
            await conn.execute(
                rollup_watermarks.insert().values(node_id=node, source="forwards", last_id=2**62)
            )
        held: list[float] = []
        began: dict[int, float] = {}

        def begin(conn: Any) -> None:
            began[id(conn)] = time.perf_counter()

        def commit(conn: Any) -> None:
            held.append(time.perf_counter() - began.pop(id(conn)))

        event.listen(store.engine.sync_engine, "begin", begin)
        event.listen(store.engine.sync_engine, "commit", commit)
        started = time.perf_counter()
        if batch_rows is None:
            async with writing(store.engine) as conn:
                cutoff_ns = (NOW - RETENTION_KEEP - EPOCH) // timedelta(microseconds=1) * 1000
                result = await conn.execute(
                    delete(forwards_table).where(forwards_table.c.timestamp_ns < cutoff_ns)
                )
                deleted = result.rowcount
        else:
            report = await apply_retention(
                store.engine, store.retention, NOW, batch_rows=batch_rows
            )
            deleted = report["forwards"]
        elapsed = time.perf_counter() - started
        event.remove(store.engine.sync_engine, "begin", begin)
        event.remove(store.engine.sync_engine, "commit", commit)
        disk = await forwards_disk_bytes(store)
    return elapsed, max(held), deleted, disk


async def forwards_disk_bytes(store: Store) -> int | None:
    """What ``forwards`` takes on disk on PostgreSQL (its partitions with their indexes);
    None on SQLite, whose file never shrinks without a VACUUM either way."""
    if store.engine.dialect.name != "postgresql":
        return None
    async with store.read() as r:
        size = await r.connection.execute(
            text(
                "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits"
                " WHERE inhparent = 'forwards'::regclass"
            )
        )
        return int(size.scalar_one())


async def measure_retention(work: Path, count: int, pg_server: URL | None = None) -> Figures:
    """Retention of 30 days over ``count`` forwards spread over 120 days, in batches (and on
    PostgreSQL by dropping whole months), against one ``DELETE`` in one transaction."""
    forwards = spread_forwards(count)
    db = "postgresql" if pg_server else "sqlite"
    figures: Figures = {}
    for side, batch_rows in (("batched", RETENTION_BATCH_ROWS), ("one_delete", None)):
        async with _Database(work, f"retention-{side}", pg_server) as where:
            url = sqlite_url(where) if isinstance(where, Path) else where
            elapsed, longest, deleted, disk = await retention_run(url, forwards, batch_rows)
        figures[f"retention_{db}_{side}_s"] = round(elapsed, 3)
        if disk is not None:
            figures[f"retention_{db}_{side}_forwards_disk_bytes_after"] = disk
        figures[f"retention_{db}_{side}_longest_transaction_s"] = round(longest, 3)
        figures[f"retention_{db}_{side}_deleted"] = deleted
    figures[f"retention_{db}_forwards"] = count
    return figures


# --- dashboard query -------------------------------------------------------------------------

# Hourly rollups are generated from the channel's index k and the hour of day x, with every
# daily sum, minimum, maximum and last value in closed form, so the daily rollups written
# beside them are exactly what rolling the hours up would give.
_FILL_FLOWS = """
INSERT INTO channel_flows_1h (node_id, chan_id, bucket_start, forwards_in, forwards_out,
  volume_in_msat, volume_out_msat, fee_in_msat, fee_out_msat, failed_in, failed_out)
SELECT 1, chan_id, stamp, (k + x) % 4, (3 * k + x) % 6,
  ((k + x) % 4) * (200000000 + k * 100000), ((3 * k + x) % 6) * (150000000 + k * 100000),
  ((k + x) % 4) * (50000 + k * 10), ((3 * k + x) % 6) * (40000 + k * 10),
  (x + k) % 3, (x + k) % 2
FROM chans CROSS JOIN hours
"""
_FILL_STATS = """
INSERT INTO channel_stats_1h (node_id, chan_id, bucket_start, samples, active_samples,
  local_balance_min_msat, local_balance_max_msat, local_balance_sum_msat,
  local_balance_last_msat, remote_balance_min_msat, remote_balance_max_msat,
  remote_balance_sum_msat, remote_balance_last_msat, capacity_sat, pending_htlcs_max,
  local_base_fee_msat, local_fee_rate_ppm, local_inbound_fee_rate_ppm, remote_base_fee_msat,
  remote_fee_rate_ppm, remote_inbound_fee_rate_ppm, last_at)
SELECT 1, chan_id, stamp, 60, 60 - (x + k) % 6,
  v - 40000000, v + 40000000, v * 60, v,
  960000000 - v, 1040000000 - v, (1000000000 - v) * 60, 1000000000 - v,
  1000000, (x + k) % 6, 1000, 100 + k % 400, NULL, 1000, 50 + k % 90, NULL, last_stamp
FROM (SELECT chan_id, k, base + x * 8000000 AS v, x, stamp, last_stamp
      FROM chans CROSS JOIN hours)
"""
_FILL_DAILY_FLOWS = """
INSERT INTO channel_flows_1d (node_id, chan_id, bucket_start, forwards_in, forwards_out,
  volume_in_msat, volume_out_msat, fee_in_msat, fee_out_msat, failed_in, failed_out)
SELECT 1, chan_id, stamp, 36, 60, 36 * (200000000 + k * 100000), 60 * (150000000 + k * 100000),
  36 * (50000 + k * 10), 60 * (40000 + k * 10), 24, 12
FROM chans CROSS JOIN days
"""
_FILL_DAILY_STATS = """
INSERT INTO channel_stats_1d (node_id, chan_id, bucket_start, samples, active_samples,
  local_balance_min_msat, local_balance_max_msat, local_balance_sum_msat,
  local_balance_last_msat, remote_balance_min_msat, remote_balance_max_msat,
  remote_balance_sum_msat, remote_balance_last_msat, capacity_sat, pending_htlcs_max,
  local_base_fee_msat, local_fee_rate_ppm, local_inbound_fee_rate_ppm, remote_base_fee_msat,
  remote_fee_rate_ppm, remote_inbound_fee_rate_ppm, last_at)
SELECT 1, chan_id, stamp, 1440, 1380,
  base - 40000000, base + 224000000, 60 * (24 * base + 2208000000), base + 184000000,
  776000000 - base, 1040000000 - base, 60 * (24000000000 - 24 * base - 2208000000),
  816000000 - base, 1000000, 5, 1000, 100 + k % 400, NULL, 1000, 50 + k % 90, NULL, last_stamp
FROM chans CROSS JOIN days
"""

# The day in progress (the hours before ``end``), rolled up from its hours as rollups do.
_PARTIAL_DAY_FLOWS = """
INSERT INTO channel_flows_1d (node_id, chan_id, bucket_start, forwards_in, forwards_out,
  volume_in_msat, volume_out_msat, fee_in_msat, fee_out_msat, failed_in, failed_out)
SELECT 1, chan_id, :day, sum(forwards_in), sum(forwards_out), sum(volume_in_msat),
  sum(volume_out_msat), sum(fee_in_msat), sum(fee_out_msat), sum(failed_in), sum(failed_out)
FROM channel_flows_1h WHERE node_id = 1 AND bucket_start >= :day GROUP BY chan_id
"""
_PARTIAL_DAY_STATS = """
INSERT INTO channel_stats_1d (node_id, chan_id, bucket_start, samples, active_samples,
  local_balance_min_msat, local_balance_max_msat, local_balance_sum_msat,
  local_balance_last_msat, remote_balance_min_msat, remote_balance_max_msat,
  remote_balance_sum_msat, remote_balance_last_msat, capacity_sat, pending_htlcs_max,
  local_base_fee_msat, local_fee_rate_ppm, local_inbound_fee_rate_ppm, remote_base_fee_msat,
  remote_fee_rate_ppm, remote_inbound_fee_rate_ppm, last_at)
SELECT 1, d.chan_id, :day, d.samples, d.active, d.lmin, d.lmax, d.lsum,
  l.local_balance_last_msat, d.rmin, d.rmax, d.rsum, l.remote_balance_last_msat,
  l.capacity_sat, d.pmax, l.local_base_fee_msat, l.local_fee_rate_ppm,
  l.local_inbound_fee_rate_ppm, l.remote_base_fee_msat, l.remote_fee_rate_ppm,
  l.remote_inbound_fee_rate_ppm, l.last_at
FROM (SELECT chan_id, sum(samples) AS samples, sum(active_samples) AS active,
        min(local_balance_min_msat) AS lmin, max(local_balance_max_msat) AS lmax,
        sum(local_balance_sum_msat) AS lsum, min(remote_balance_min_msat) AS rmin,
        max(remote_balance_max_msat) AS rmax, sum(remote_balance_sum_msat) AS rsum,
        max(pending_htlcs_max) AS pmax, max(bucket_start) AS last_bucket
      FROM channel_stats_1h WHERE node_id = 1 AND bucket_start >= :day GROUP BY chan_id) AS d
JOIN channel_stats_1h AS l
  ON l.node_id = 1 AND l.chan_id = d.chan_id AND l.bucket_start = d.last_bucket
"""


def fill_rollups(path: Path, first: datetime, end: datetime) -> int:
    """Write hourly rollups for every channel over ``[first, end)`` and the daily rollups of
    its days (the one in progress too), straight into the tables, as a bulk load does (no
    journal, secondary indexes built after). ``first`` starts a day."""
    stamp = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores datetimes in SQLite
    hours = [first + timedelta(hours=i) for i in range((end - first) // timedelta(hours=1))]
    days = [first + timedelta(days=i) for i in range((end - first) // timedelta(days=1))]
    db = sqlite3.connect(path / SQLITE_FILE_NAME, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("PRAGMA temp_store=MEMORY")
    db.execute("CREATE TEMP TABLE chans (chan_id INTEGER, k INTEGER, base INTEGER)")
    db.executemany(
        "INSERT INTO chans VALUES (?, ?, ?)",
        [(FIRST_CHAN_ID + k, k, 300_000_000 + k * 7919 % 100_000 * 1000) for k in range(CHANNELS)],
    )
    for name, spans, step in (
        ("hours", hours, timedelta(hours=1)),
        ("days", days, timedelta(days=1)),
    ):
        db.execute(f"CREATE TEMP TABLE {name} (x INTEGER, stamp TEXT, last_stamp TEXT)")
        db.executemany(
            f"INSERT INTO {name} VALUES (?, ?, ?)",  # noqa: S608 (a constant table name)
            [
                (at.hour, at.strftime(stamp), (at + step - timedelta(minutes=1)).strftime(stamp))
                for at in spans
            ],
        )
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name LIKE 'channel_%'"
    ).fetchall()
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    today = {"day": bucket_floor(end, Resolution.DAY).strftime(stamp)}
    for sql in (_FILL_FLOWS, _FILL_STATS, _FILL_DAILY_FLOWS, _FILL_DAILY_STATS):
        db.execute("BEGIN")
        db.execute(sql)
        db.execute("COMMIT")
    for sql in (_PARTIAL_DAY_FLOWS, _PARTIAL_DAY_STATS):
        db.execute(sql, today)
    for _, sql in indexes:
        db.execute(sql)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("ANALYZE")
    (rows,) = db.execute("SELECT count(*) FROM channel_flows_1h").fetchone()
    db.close()
    return int(rows)


async def dashboard_load(store: Store, node: int, timings: dict[str, list[float]]) -> None:
    """What the dashboard's overview reads: the channel table (every channel's forwards,
    volumes and fees over 7 days, as ``lnpilot channels`` shows them) and a channel's chart
    over the year, at the resolution picked for it."""
    async with store.read() as r:
        t0 = time.perf_counter()
        week = await r.channel_totals(node, NOW - timedelta(days=7), NOW, now=NOW)
        t1 = time.perf_counter()
        chart = await r.channel_series(node, FIRST_CHAN_ID, NOW - timedelta(days=365), NOW, now=NOW)
        t2 = time.perf_counter()
    assert len(week) == CHANNELS and chart.resolution is Resolution.DAY
    timings["week_totals"].append(t1 - t0)
    timings["channel_year_chart"].append(t2 - t1)
    timings["total"].append(t2 - t0)


async def heavier_reads(store: Store, node: int, timings: dict[str, list[float]]) -> None:
    """Reads beyond the overview, reported for information: every channel's totals over 30
    days and over the year, and one channel's year at hourly resolution (8760 points)."""
    async with store.read() as r:
        for name, days in (("month_totals", 30), ("year_totals", 365)):
            started = time.perf_counter()
            totals = await r.channel_totals(node, NOW - timedelta(days=days), NOW, now=NOW)
            timings[name].append(time.perf_counter() - started)
            assert len(totals) == CHANNELS
        started = time.perf_counter()
        chart = await r.channel_series(
            node, FIRST_CHAN_ID, NOW - timedelta(days=365), NOW, resolution=Resolution.HOUR
        )
        timings["channel_year_hourly"].append(time.perf_counter() - started)
    assert chart.points


def check_totals(path: Path, store_totals: FlowStats, start: datetime) -> None:
    """The store's totals over a window (days and hourly edges) equal the hourly rows' sums."""
    db = sqlite3.connect(path / SQLITE_FILE_NAME)
    sums = db.execute(
        "SELECT sum(forwards_in), sum(volume_out_msat), sum(fee_out_msat) FROM channel_flows_1h"
        " WHERE node_id = 1 AND chan_id = ? AND bucket_start >= ? AND bucket_start < ?",
        (
            FIRST_CHAN_ID,
            start.strftime("%Y-%m-%d %H:%M:%S.%f"),
            NOW.strftime("%Y-%m-%d %H:%M:%S.%f"),
        ),
    ).fetchone()
    db.close()
    expected = (store_totals.forwards_in, store_totals.volume_out_msat, store_totals.fee_out_msat)
    assert sums == expected, (sums, expected)


async def measure_dashboard(work: Path, runs: int, days: int) -> Figures:
    path = work / "dashboard"
    async with await Store.open(sqlite_url(path)) as store, store.transaction() as tx:
        node = await tx.upsert_node(NodeInfo("02" + "cd" * 32, "bench", 900_000, True), NOW)
    assert node == 1, "the generated rows are for node 1"
    filled_at = time.perf_counter()
    rows = fill_rollups(path, bucket_floor(NOW - timedelta(days=days), Resolution.DAY), NOW)
    fill_s = time.perf_counter() - filled_at

    timings: dict[str, list[float]] = defaultdict(list)
    statements: list[tuple[str, Any]] = []
    bare: list[float] = []
    async with await Store.open(sqlite_url(path)) as store:
        await dashboard_load(store, node, defaultdict(list))  # warm the caches
        async with store.read() as r:
            year_start = NOW - timedelta(days=365)
            year = await r.channel_totals(node, year_start, NOW, now=NOW)
        check_totals(path, year[FIRST_CHAN_ID], year_start)

        def capture(_c: object, _cur: object, sql: str, params: Any, *_: object) -> None:
            if not sql.startswith("BEGIN"):
                statements.append((sql, params))

        event.listen(store.engine.sync_engine, "before_cursor_execute", capture)
        await dashboard_load(store, node, defaultdict(list))
        event.remove(store.engine.sync_engine, "before_cursor_execute", capture)
        db = sqlite3.connect(path / SQLITE_FILE_NAME, isolation_level=None)
        for _ in range(runs):
            await dashboard_load(store, node, timings)
            started = time.perf_counter()
            db.execute("BEGIN")
            for sql, params in statements:
                db.execute(sql, params).fetchall()
            db.execute("COMMIT")
            bare.append(time.perf_counter() - started)
        db.close()
        for _ in range(max(3, runs // 3)):
            await heavier_reads(store, node, timings)
    ms = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    bare_ms = statistics.median(bare) * 1000
    return {
        "dashboard_query_ms": round(ms["total"], 1),
        "dashboard_query_target_ms": DASHBOARD_TARGET_MS,
        "dashboard_bare_sqlite3_ms": round(bare_ms, 1),
        "dashboard_ratio_store_vs_bare": round(ms["total"] / bare_ms, 2),
        "dashboard_week_totals_500ch_ms": round(ms["week_totals"], 1),
        "dashboard_channel_year_chart_ms": round(ms["channel_year_chart"], 1),
        "dashboard_statements": len(statements),
        "month_totals_500ch_ms": round(ms["month_totals"], 1),
        "year_totals_500ch_ms": round(ms["year_totals"], 1),
        "channel_year_hourly_ms": round(ms["channel_year_hourly"], 1),
        "rollup_hourly_rows": rows,
        "rollup_fill_s": round(fill_s, 1),
    }


# --- collector cycle -------------------------------------------------------------------------

COLLECT_TARGET_S = 2.0
COLLECT_CHANNELS = 1000
#: Forwards routed between two cycles, and peers that change a fee meanwhile.
COLLECT_PAYMENTS = 300
COLLECT_POLICY_CHANGES = 10
MACAROON = "0201036c6e6402f801030a10" + "be" * 24


def simulated_node(channels: int) -> tuple[SimNetwork, Payer, OurNode, list[str]]:
    """Our node with one 2M sat channel to each of ``channels`` peers, evenly split."""
    net = SimNetwork(seed=4, config=NetworkConfig(start=EPOCH))
    net.now_ns = (NOW - EPOCH) // timedelta(microseconds=1) * 1000
    ours = pubkey_of(1).hex()
    net.add_node(Node(ours, "bench", privkey=1))
    peers = []
    for n in range(channels):
        peer = pubkey_of(1000 + n).hex()
        net.add_node(Node(peer, f"peer{n}", privkey=1000 + n))
        net.add_channel(
            ours,
            peer,
            2_000_000,
            1_000_000_000,
            Policy(1000, 100, max_htlc_msat=1_980_000_000),
            Policy(1000, 200, max_htlc_msat=1_980_000_000),
            scid=f"800000x{n + 1}x0",
        )
        peers.append(peer)
    payer = Payer(net)
    return net, payer, OurNode(net, payer, ours), peers


def between_cycles(net: SimNetwork, payer: Payer, peers: list[str], rng: random.Random) -> None:
    """A minute of a busy node: payments through us between random peers, a few fee
    changes by peers."""
    for _ in range(COLLECT_PAYMENTS):
        net.now_ns += 200_000_000
        source, dest = rng.sample(peers, 2)
        payer.pay(source, dest, rng.randint(1_000, 200_000) * 1000)
    for peer in rng.sample(peers, COLLECT_POLICY_CHANGES):
        [chan_id] = net.nodes[peer].channel_ids
        net.update_policy(chan_id, peer, fee_rate_ppm=rng.randint(1, 2000))


def node_process(conn: Connection, channels: int) -> None:
    """The simulated node and its LND face in a process of their own, as LND is one: in the
    collector's process they would share its interpreter lock, and every request would
    wait for thread switches (5 ms each) instead of the network. Asked for a ``minute``,
    it simulates one and answers with its clock (ns since the epoch); anything else ends it.
    """
    net, payer, ours, peers = simulated_node(channels)
    rng = random.Random(7)
    lock = threading.RLock()
    face = FaceServer(create_app(ours, MACAROON, lock=lock)).start()
    conn.send((face.url, net.now_ns))
    try:
        while conn.recv() == "minute":
            with lock:
                between_cycles(net, payer, peers, rng)
                net.now_ns += 60_000_000_000
            conn.send(net.now_ns)
    finally:
        face.stop()


async def measure_collect(work: Path, rounds: int) -> Figures:
    """A full cycle (read the node, record in one transaction, roll up) after a minute of
    traffic, timed over loopback; reference: the same node reads alone, nothing recorded."""
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe()
    node = context.Process(target=node_process, args=(child_conn, COLLECT_CHANNELS))
    node.start()
    url, now_ns = await asyncio.to_thread(conn.recv)
    clock = [time_from_ns(now_ns)]
    cycle_s, in_cycle_reads_s, reads_s, forwards, events = [], [], [], [], []
    try:
        async with (
            await Store.open(sqlite_url(work / "collect")) as store,
            LndRest(url, MACAROON) as lnd,
        ):
            collector = Collector(lnd, store, clock=lambda: clock[0])
            started = time.perf_counter()
            index = (await collector.cycle()).forward_index
            first_s = time.perf_counter() - started
            for _ in range(rounds):
                conn.send("minute")
                clock[0] = time_from_ns(await asyncio.to_thread(conn.recv))
                started = time.perf_counter()
                info = await lnd.get_info()
                await observe(
                    lnd,
                    info,
                    clock[0],
                    forward_index=index,
                    failed_since=clock[0],
                    max_forwards=DEFAULT_MAX_FORWARDS,
                )
                reads_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                report = await collector.cycle()
                cycle_s.append(time.perf_counter() - started)
                in_cycle_reads_s.append(report.read_s)
                assert report.channels == COLLECT_CHANNELS and report.caught_up
                index = report.forward_index
                forwards.append(report.forwards_new)
                events.append(len(report.events))
    finally:
        conn.send("stop")
        await asyncio.to_thread(node.join, 30)
    cycle, reads = statistics.median(cycle_s), statistics.median(reads_s)
    return {
        "collect_cycle_s_1000ch": round(cycle, 3),
        "collect_cycle_target_s": COLLECT_TARGET_S,
        "collect_node_reads_s_1000ch": round(reads, 3),
        "collect_ratio_cycle_vs_reads": round(cycle / reads, 2),
        "collect_store_s_1000ch": round(
            statistics.median(c - r for c, r in zip(cycle_s, in_cycle_reads_s, strict=True)), 3
        ),
        "collect_first_cycle_s_1000ch": round(first_s, 3),
        "collect_forwards_per_cycle": round(statistics.median(forwards)),
        "collect_events_per_cycle": round(statistics.median(events)),
        "collect_rounds": rounds,
    }


# --- main ------------------------------------------------------------------------------------


async def run(quick: bool, pg_url: str | None) -> None:
    pg_server = normalize_url(pg_url) if pg_url else None
    with tempfile.TemporaryDirectory(prefix="lnpilot-store-bench-") as tmp:
        work = Path(tmp)
        count, rounds = (20_000, 1) if quick else (150_000, 3)
        sections: list[Callable[[], Awaitable[Figures]]] = [
            lambda: measure_ingest(work, count, rounds),
            *([lambda: measure_ingest(work, count, rounds, pg_server)] if pg_server else []),
            lambda: measure_retention(work, count),
            *([lambda: measure_retention(work, count, pg_server)] if pg_server else []),
            lambda: measure_dashboard(work, 3 if quick else 15, 30 if quick else 365),
            lambda: measure_collect(work, 2 if quick else 7),
        ]
        for section in sections:
            for name, value in (await section()).items():
                print(f"{name}={value}", flush=True)
    print(f"load_avg_1m={os.getloadavg()[0]:.2f}")  # other work on the machine skews absolutes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    parser.add_argument(
        "--url",
        help="also measure on this PostgreSQL server (postgresql+asyncpg://user@host/db; each "
        "round works in a fresh database created there and dropped after)",
    )
    args = parser.parse_args()
    if args.url and make_url(args.url).get_backend_name() != "postgresql":
        parser.error(f"--url must be a postgresql URL (SQLite is always measured), got {args.url}")
    asyncio.run(run(args.quick, args.url))


if __name__ == "__main__":
    main()
