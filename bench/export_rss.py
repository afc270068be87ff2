"""Peak memory of an export of a million forwards, next to references from the same run.

- ``export_rss_mb``: peak resident memory of a process that exports one million forwards (a
  year of a busy node) from a SQLite store as CSV to ``/dev/null``, through
  ``lnpilot.backup.export.export`` (the code ``lnpilot export`` and the API download run).
- ``export_rss_mb_tenth``: the same export limited to the first tenth of the forwards. The
  ratio ``export_rss_growth_ratio`` (all over a tenth) is about 1.0 when memory does not
  grow with the range.
- ``loaded_rss_mb_tenth``: the reference that shows the measure can see rows: the same
  tenth read the way a page of the API reads forwards (``StoreReader.forwards``, a list).
- ``baseline_rss_mb``: the same process exporting an empty range: what Python, lnpilot and
  SQLAlchemy cost before any row; ``export_rss_over_baseline_mb`` is what the rows add.
- ``export_rows_per_s``: throughput of the 1M export (information only).

Each measurement runs in a fresh process (peak RSS is per process), in the order baseline,
100k, 1M. Filling the store takes the bulk of the time (about a minute); ``--rows`` makes
a smaller run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lnpilot.backup.export import ExportFormat, ExportKind, export
from lnpilot.base.domain import NodeInfo
from lnpilot.store import Store, sqlite_url
from lnpilot.store.database import SQLITE_FILE_NAME
from lnpilot.store.levels import epoch_ns

START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
CHANNELS = 200
FIRST_CHAN_ID = 800_000 << 40


async def fill(directory: Path, rows: int) -> int:
    """A migrated store with one node and `rows` forwards spread over a year; its node id."""
    async with await Store.open(sqlite_url(directory)) as store, store.transaction() as tx:
        node_id = await tx.upsert_node(
            NodeInfo(pubkey="02" + "ab" * 32, alias="bench", block_height=1, synced_to_chain=True),
            START,
        )
    rng = random.Random(7)
    step_ns = epoch_ns(START + YEAR) - epoch_ns(START)
    chans = [FIRST_CHAN_ID + (i << 16) for i in range(CHANNELS)]
    with sqlite3.connect(directory / SQLITE_FILE_NAME) as conn:
        batch = []
        for i in range(rows):
            amt = rng.randrange(10_000, 50_000_000)
            fee = amt // 1000 + 1000
            batch.append(
                (
                    node_id,
                    epoch_ns(START) + step_ns * i // rows,
                    rng.choice(chans),
                    rng.choice(chans),
                    amt + fee,
                    amt,
                    fee,
                    i,
                    i,
                )
            )
            if len(batch) == 50_000:
                conn.executemany(_INSERT, batch)
                batch.clear()
        conn.executemany(_INSERT, batch)
    return node_id


_INSERT = (
    "INSERT INTO forwards (node_id, timestamp_ns, chan_id_in, chan_id_out, amt_in_msat,"
    " amt_out_msat, fee_msat, incoming_htlc_id, outgoing_htlc_id) VALUES (?,?,?,?,?,?,?,?,?)"
)


async def child(directory: Path, node_id: int, end_ns_index: int, total: int, loaded: bool) -> None:
    """Export forwards up to the `end_ns_index`-th one (0: an empty range), or load them
    into a list when `loaded`; print peak RSS, rows and seconds."""
    span_ns = epoch_ns(START + YEAR) - epoch_ns(START)
    end = START + timedelta(microseconds=max(1, span_ns * end_ns_index // total // 1000))
    started = time.perf_counter()
    rows = 0
    async with await Store.open(sqlite_url(directory), migrate=False) as store:
        if loaded:
            async with store.read() as reader:
                rows = len(await reader.forwards(node_id, START, end))
        else:
            with open("/dev/null", "w") as sink:  # noqa: ASYNC230 - the sink never blocks
                chunks = export(store, node_id, ExportKind.FORWARDS, START, end, ExportFormat.CSV)
                async for text in chunks:
                    rows += text.count("\n")
                    sink.write(text)
            rows -= 1  # the header
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak_mb:.1f} {rows} {elapsed:.3f}")


def measure(
    directory: Path, node_id: int, upto: int, total: int, loaded: bool = False
) -> tuple[float, int, float]:
    command = [sys.executable, __file__, "--child", str(directory), str(node_id), str(upto)]
    done = subprocess.run(
        [*command, str(total), "load" if loaded else "export"],
        capture_output=True,
        text=True,
        check=True,
    )
    peak, rows, elapsed = done.stdout.split()
    return float(peak), int(rows), float(elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        directory, node_id, upto, total, mode = args.child
        asyncio.run(child(Path(directory), int(node_id), int(upto), int(total), mode == "load"))
        return
    with tempfile.TemporaryDirectory(prefix="lnpilot-export-bench-") as work:
        directory = Path(work)
        started = time.perf_counter()
        node_id = asyncio.run(fill(directory, args.rows))
        print(f"fill_s={time.perf_counter() - started:.1f}")
        tenth = args.rows // 10
        baseline, _, _ = measure(directory, node_id, 0, args.rows)
        small, small_rows, _ = measure(directory, node_id, tenth, args.rows)
        loaded, loaded_rows, _ = measure(directory, node_id, tenth, args.rows, loaded=True)
        full, full_rows, elapsed = measure(directory, node_id, args.rows, args.rows)
    assert full_rows == args.rows, (full_rows, args.rows)
    print(f"rows={full_rows}")
    print(f"baseline_rss_mb={baseline:.1f}")
    print(f"export_rss_mb_tenth={small:.1f}")
    print(f"loaded_rss_mb_tenth={loaded:.1f}")
    assert small_rows == loaded_rows, (small_rows, loaded_rows)
    print(f"export_rss_mb={full:.1f}")
    print(f"export_rss_over_baseline_mb={full - baseline:.1f}")
    print(f"export_rss_growth_ratio={full / small:.2f}")
    print(f"export_rows_per_s={full_rows / elapsed:.0f}")


if __name__ == "__main__":
    main()
