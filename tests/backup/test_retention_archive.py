"""Retention with ``archive_dir``: the raw rows it deletes are first written, compressed and
per month, where the operator keeps them; nothing is deleted that was not written."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from lnpilot.store import Retention, Store
from lnpilot.store.tables import channel_snapshots, forwards
from store.factories import T0, chan_id, channel, failed, forward, new_node


def archived(root: Path, table: str) -> dict[str, list[dict[str, object]]]:
    """Rows per month directory of `table`'s archive."""
    months: dict[str, list[dict[str, object]]] = {}
    for path in sorted((root / table).glob("*/*.jsonl.gz")):
        with gzip.open(path, "rt") as file:
            months.setdefault(path.parent.name, []).extend(json.loads(line) for line in file)
    return months


async def count(store: Store, table: object) -> int:
    async with store.read() as reader:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int((await reader.connection.execute(query)).scalar_one())


async def test_deleted_raw_rows_are_archived_per_month(
    database_url: URL, store: Store, tmp_path: Path
) -> None:
    """Forwards kept 30 days: the January and February ones go, each month to its file."""
    node = await new_node(store)
    cid = chan_id(801_000)
    now = T0 + timedelta(days=60)  # T0 is 1 March 2025
    times = [T0 - timedelta(days=40), T0 - timedelta(days=10), T0 - timedelta(days=9), now]
    for n, at in enumerate(times):
        async with store.transaction() as tx:
            await tx.record_channels(node, [channel(cid)], at)
            await tx.append_forwards(node, [forward(at, cid, chan_id(1), fee_msat=10 + n)])
            await tx.append_failed_forwards(node, [failed(at, cid, None)])
    await store.rollup([node])
    archive = tmp_path / "archive"
    retention = Retention(forwards=timedelta(days=30), archive_dir=archive)
    async with await Store.open(database_url, retention=retention) as archiving:
        deleted = await archiving.apply_retention(now)
    assert deleted["forwards"] == 3
    months = archived(archive, "forwards")
    assert {m: [r["fee_msat"] for r in rows] for m, rows in months.items()} == {
        "2025-01": [10],
        "2025-02": [11, 12],
    }
    assert months["2025-01"][0]["chan_id_out"] == chan_id(1)
    assert await count(store, forwards) == 1
    snapshots = archived(archive, "channel_snapshots")
    assert sum(map(len, snapshots.values())) == deleted["channel_snapshots"] == 3
    assert await count(store, channel_snapshots) == 1
    assert sum(map(len, archived(archive, "failed_forwards").values())) == 3
    assert not list(archive.rglob("*.partial"))


async def test_nothing_is_deleted_when_the_archive_cannot_be_written(
    database_url: URL, store: Store, tmp_path: Path
) -> None:
    node = await new_node(store)
    cid = chan_id(801_100)
    now = T0 + timedelta(days=60)
    async with store.transaction() as tx:
        await tx.record_channels(node, [channel(cid)], T0)
    await store.rollup([node])
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the archive folder should be")
    retention = Retention(archive_dir=blocked)
    async with await Store.open(database_url, retention=retention) as archiving:
        with pytest.raises(OSError):
            await archiving.apply_retention(now)
    assert await count(store, channel_snapshots) == 1, "the delete rolled back with the write"
