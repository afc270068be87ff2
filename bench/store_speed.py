"""How fast the store takes in forwards and answers the dashboard, each figure next to a
reference measured in the same run (machines are noisy: compare ratios across runs).

- ``forwards_ingest_per_s`` (target >= 50000): ``Forward`` objects appended on SQLite through
  ``StoreTransaction.append_forwards``, ``BATCH`` per transaction, as a collector catching up
  on LND's forwarding history does; deduplication on. Reference: the same rows as ready-made
  tuples through bare ``sqlite3`` ``executemany`` (``INSERT OR IGNORE``) into a database
  migrated the same way: what SQLite itself costs, so the ratio is what the store adds
  (conversion, SQLAlchemy, the async driver's thread hop). Rounds alternate the two sides.
- ``dashboard_query_ms`` (target <= 100): a year of hourly rollups for 500 channels
  (4.38 million rows each for balances and flows, and the daily rollups they give) is
  written straight into the rollup tables; then one dashboard load is timed: the channel
  table (each channel's totals over 365 days and over 7 days, ``channel_totals``) and one
  channel's year at hourly resolution (``channel_series``, 8760 points). Reference: the
  very SQL statements the store issued, captured and replayed through bare ``sqlite3``.
- ``collect_cycle_s_1000ch``: the collector's figure, measured in its own section (see
  ``SECTIONS``), added with the collector.

Prints ``name=value`` lines. Runs in about a minute; ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from lnpilot.node.models import Forward, NodeInfo
from lnpilot.store import Resolution, Store, sqlite_url, upgrade
from lnpilot.store.database import SQLITE_FILE_NAME
from lnpilot.store.levels import EPOCH, bucket_floor

INGEST_TARGET_PER_S = 50_000
DASHBOARD_TARGET_MS = 100
BATCH = 5_000
CHANNELS = 500
NOW = datetime(2025, 6, 1, tzinfo=UTC)  # on the hour: windows end on a bucket edge
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


async def ingest_through_store(path: Path, forwards: list[Forward]) -> tuple[float, int]:
    """Seconds to append ``forwards`` batch by batch, and how many a re-read re-inserted."""
    async with await Store.open(sqlite_url(path)) as store:
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


async def ingest_bare(path: Path, forwards: list[Forward]) -> float:
    """Seconds for bare sqlite3 to take the same rows, prepared as tuples beforehand."""
    await upgrade(sqlite_url(path))
    rows = [
        (
            1,
            f.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f"),
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
    db = sqlite3.connect(path / SQLITE_FILE_NAME, isolation_level=None)
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "INSERT INTO nodes (id, pubkey, first_seen_at, last_seen_at) VALUES (1, 'x', '', '')"
    )
    sql = (
        "INSERT OR IGNORE INTO forwards (node_id, at, timestamp_ns, chan_id_in, chan_id_out,"
        " amt_in_msat, amt_out_msat, fee_msat, incoming_htlc_id, outgoing_htlc_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    started = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(sql, rows[i : i + BATCH])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


async def measure_ingest(work: Path, count: int, rounds: int) -> Figures:
    forwards = make_forwards(count, seed=1)
    store_s, bare_s, reinserted = [], [], 0
    for n in range(rounds):
        sides: list[tuple[str, Callable[[Path], Awaitable[Any]]]] = [
            ("bare", lambda p: ingest_bare(p, forwards)),
            ("store", lambda p: ingest_through_store(p, forwards)),
        ]
        for side, run in sides if n % 2 == 0 else sides[::-1]:
            result = await run(work / f"ingest-{side}-{n}")
            if side == "bare":
                bare_s.append(result)
            else:
                store_s.append(result[0])
                reinserted += result[1]
    per_s = count / statistics.median(store_s)
    bare_per_s = count / statistics.median(bare_s)
    return {
        "forwards_ingest_per_s": round(per_s),
        "forwards_ingest_target_per_s": INGEST_TARGET_PER_S,
        "forwards_ingest_batch": BATCH,
        "forwards_ingest_bare_sqlite3_per_s": round(bare_per_s),
        "forwards_ingest_ratio_store_vs_bare": round(bare_per_s / per_s, 2),
        "forwards_reread_inserted": reinserted,
    }


# --- dashboard query -------------------------------------------------------------------------

_FILL_FLOWS = """
WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h WHERE i < :hours - 1),
g AS (SELECT c.chan_id, c.k, h.i, :t0 + h.i * 3600 AS t FROM chans c CROSS JOIN h)
INSERT INTO channel_flows_1h (node_id, chan_id, bucket_start, forwards_in, forwards_out,
  volume_in_msat, volume_out_msat, fee_in_msat, fee_out_msat, failed_in, failed_out)
SELECT 1, chan_id, strftime('%Y-%m-%d %H:%M:%S.000000', t, 'unixepoch'),
  (k + i) % 4, (k * 3 + i) % 5, ((k + i) % 4) * 250000000, ((k * 3 + i) % 5) * 200000000,
  ((k + i) % 4) * 60000, ((k * 3 + i) % 5) * 55000, (i * 7 + k) % 3, (i * 11 + k) % 2
FROM g ORDER BY chan_id, i
"""
_FILL_STATS = """
WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h WHERE i < :hours - 1),
g AS (SELECT c.chan_id, c.k, h.i, :t0 + h.i * 3600 AS t,
             300000000 + (c.k * 7919 + h.i * 104729) % 400000000 AS v
      FROM chans c CROSS JOIN h)
INSERT INTO channel_stats_1h (node_id, chan_id, bucket_start, samples, active_samples,
  local_balance_min_msat, local_balance_max_msat, local_balance_sum_msat,
  local_balance_last_msat, remote_balance_min_msat, remote_balance_max_msat,
  remote_balance_sum_msat, remote_balance_last_msat, capacity_sat, pending_htlcs_max,
  local_base_fee_msat, local_fee_rate_ppm, local_inbound_fee_rate_ppm, remote_base_fee_msat,
  remote_fee_rate_ppm, remote_inbound_fee_rate_ppm, last_at)
SELECT 1, chan_id, strftime('%Y-%m-%d %H:%M:%S.000000', t, 'unixepoch'), 60, 60 - (i + k) % 7,
  v - 40000000, v + 40000000, v * 60, v,
  960000000 - v, 1040000000 - v, (1000000000 - v) * 60, 1000000000 - v,
  1000000, (i + k) % 6, 1000, 100 + k % 400, NULL, 1000, 50 + k % 90, NULL,
  strftime('%Y-%m-%d %H:%M:%S.000000', t + 3540, 'unixepoch')
FROM g ORDER BY chan_id, i
"""
_DAILY_FLOWS = """
INSERT INTO channel_flows_1d (node_id, chan_id, bucket_start, forwards_in, forwards_out,
  volume_in_msat, volume_out_msat, fee_in_msat, fee_out_msat, failed_in, failed_out)
SELECT node_id, chan_id, substr(bucket_start, 1, 10) || ' 00:00:00.000000' AS day,
  sum(forwards_in), sum(forwards_out), sum(volume_in_msat), sum(volume_out_msat),
  sum(fee_in_msat), sum(fee_out_msat), sum(failed_in), sum(failed_out)
FROM channel_flows_1h GROUP BY node_id, chan_id, day ORDER BY chan_id, day
"""
_DAILY_STATS = """
INSERT INTO channel_stats_1d (node_id, chan_id, bucket_start, samples, active_samples,
  local_balance_min_msat, local_balance_max_msat, local_balance_sum_msat,
  remote_balance_min_msat, remote_balance_max_msat, remote_balance_sum_msat,
  pending_htlcs_max, local_balance_last_msat, remote_balance_last_msat, capacity_sat,
  local_base_fee_msat, local_fee_rate_ppm, local_inbound_fee_rate_ppm, remote_base_fee_msat,
  remote_fee_rate_ppm, remote_inbound_fee_rate_ppm, last_at)
SELECT d.node_id, d.chan_id, d.day, d.samples, d.active, d.lmin, d.lmax, d.lsum, d.rmin,
  d.rmax, d.rsum, d.pmax, l.local_balance_last_msat, l.remote_balance_last_msat,
  l.capacity_sat, l.local_base_fee_msat, l.local_fee_rate_ppm, l.local_inbound_fee_rate_ppm,
  l.remote_base_fee_msat, l.remote_fee_rate_ppm, l.remote_inbound_fee_rate_ppm, l.last_at
FROM (SELECT node_id, chan_id, substr(bucket_start, 1, 10) || ' 00:00:00.000000' AS day,
        sum(samples) AS samples, sum(active_samples) AS active,
        min(local_balance_min_msat) AS lmin, max(local_balance_max_msat) AS lmax,
        sum(local_balance_sum_msat) AS lsum, min(remote_balance_min_msat) AS rmin,
        max(remote_balance_max_msat) AS rmax, sum(remote_balance_sum_msat) AS rsum,
        max(pending_htlcs_max) AS pmax, max(bucket_start) AS last_bucket
      FROM channel_stats_1h GROUP BY node_id, chan_id, day) AS d
JOIN channel_stats_1h AS l
  ON l.node_id = d.node_id AND l.chan_id = d.chan_id AND l.bucket_start = d.last_bucket
ORDER BY d.chan_id, d.day
"""


def fill_rollups(path: Path, hours: int) -> int:
    """Write ``hours`` of hourly rollups for every channel, and the daily ones they give,
    straight into the tables (secondary indexes rebuilt after, as a bulk load does)."""
    db = sqlite3.connect(path / SQLITE_FILE_NAME, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("CREATE TEMP TABLE chans (chan_id INTEGER, k INTEGER)")
    db.executemany(
        "INSERT INTO chans VALUES (?, ?)", [(FIRST_CHAN_ID + k, k) for k in range(CHANNELS)]
    )
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name LIKE 'channel_%'"
    ).fetchall()
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    first = bucket_floor(NOW - timedelta(hours=hours), Resolution.DAY)
    params = {"hours": hours, "t0": int(first.timestamp())}
    for sql in (_FILL_FLOWS, _FILL_STATS, _DAILY_FLOWS, _DAILY_STATS):
        db.execute("BEGIN")
        db.execute(sql, params if ":hours" in sql else {})
        db.execute("COMMIT")
    for _, sql in indexes:
        db.execute(sql)
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (rows,) = db.execute("SELECT count(*) FROM channel_flows_1h").fetchone()
    db.close()
    return int(rows)


async def dashboard_load(
    store: Store, node: int, hours: int, timings: dict[str, list[float]]
) -> None:
    """What the dashboard's overview reads: the channel table and one channel's chart."""
    async with store.read() as r:
        t0 = time.perf_counter()
        year = await r.channel_totals(node, NOW - timedelta(days=365), NOW, now=NOW)
        t1 = time.perf_counter()
        week = await r.channel_totals(node, NOW - timedelta(days=7), NOW, now=NOW)
        t2 = time.perf_counter()
        chart = await r.channel_series(
            node, FIRST_CHAN_ID, NOW - timedelta(days=365), NOW, resolution=Resolution.HOUR
        )
        t3 = time.perf_counter()
    assert len(year) == len(week) == CHANNELS and len(chart.points) == hours
    timings["year_totals"].append(t1 - t0)
    timings["week_totals"].append(t2 - t1)
    timings["channel_year_hourly"].append(t3 - t2)
    timings["total"].append(t3 - t0)


async def measure_dashboard(work: Path, runs: int, hours: int) -> Figures:
    path = work / "dashboard"
    async with await Store.open(sqlite_url(path)) as store, store.transaction() as tx:
        node = await tx.upsert_node(NodeInfo("02" + "cd" * 32, "bench", 900_000, True), NOW)
    assert node == 1
    filled_at = time.perf_counter()
    rows = fill_rollups(path, hours)
    fill_s = time.perf_counter() - filled_at

    timings: dict[str, list[float]] = {
        k: [] for k in ("year_totals", "week_totals", "channel_year_hourly", "total")
    }
    statements: list[tuple[str, Any]] = []
    async with await Store.open(sqlite_url(path)) as store:
        await dashboard_load(store, node, hours, {k: [] for k in timings})  # warm caches

        def capture(_c: object, _cur: object, sql: str, params: Any, *_: object) -> None:
            if not sql.startswith("BEGIN"):
                statements.append((sql, params))

        event.listen(store.engine.sync_engine, "before_cursor_execute", capture)
        await dashboard_load(store, node, hours, {k: [] for k in timings})
        event.remove(store.engine.sync_engine, "before_cursor_execute", capture)
        bare: list[float] = []
        db = sqlite3.connect(path / SQLITE_FILE_NAME, isolation_level=None)
        for _ in range(runs):
            await dashboard_load(store, node, hours, timings)
            started = time.perf_counter()
            db.execute("BEGIN")
            for sql, params in statements:
                db.execute(sql, params).fetchall()
            db.execute("COMMIT")
            bare.append(time.perf_counter() - started)
        db.close()
    ms = {k: statistics.median(v) * 1000 for k, v in timings.items()}
    bare_ms = statistics.median(bare) * 1000
    return {
        "dashboard_query_ms": round(ms["total"], 1),
        "dashboard_query_target_ms": DASHBOARD_TARGET_MS,
        "dashboard_bare_sqlite3_ms": round(bare_ms, 1),
        "dashboard_ratio_store_vs_bare": round(ms["total"] / bare_ms, 2),
        "dashboard_year_totals_ms": round(ms["year_totals"], 1),
        "dashboard_week_totals_ms": round(ms["week_totals"], 1),
        "dashboard_channel_year_hourly_ms": round(ms["channel_year_hourly"], 1),
        "dashboard_statements": len(statements),
        "dashboard_hourly_rows": rows,
        "dashboard_fill_s": round(fill_s, 1),
    }


# --- main ------------------------------------------------------------------------------------


async def run(quick: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="lnpilot-store-bench-") as tmp:
        work = Path(tmp)
        sections: list[Callable[[], Awaitable[Figures]]] = [
            lambda: measure_ingest(work, 20_000 if quick else 150_000, 1 if quick else 3),
            lambda: measure_dashboard(work, 3 if quick else 15, 24 * (30 if quick else 365)),
            # collect_cycle_s_1000ch: the collector's section goes here (issue 4).
        ]
        for section in sections:
            for name, value in (await section()).items():
                print(f"{name}={value}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, for a smoke run")
    asyncio.run(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
