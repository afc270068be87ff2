"""Backup archives: create, verify, restore — a round trip on SQLite and on PostgreSQL.

The store is filled by the real collector reading the simulated node through its LND REST
face (channels, snapshots, forwards, policies, events, rollups), plus a channel backup the
node verified. Everything readable before the backup is readable, row for row, after the
restore, and restoring again with ``force`` duplicates nothing.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from collect.conftest import Sim
from lnpilot.backup import ScbKeeper
from lnpilot.backup.archive import (
    ArchiveInvalid,
    RestoreRefused,
    create_archive,
    newest_archive_at,
    prune,
    restore_archive,
    verify_archive,
)
from lnpilot.store import Store, normalize_url, sqlite_url
from lnpilot.store.tables import metadata
from store.conftest import _fresh_pg_database

CONFIG = """\
# the operator's comment survives
data_dir = "data"

[lnbits]
url = "http://127.0.0.1:5000"
admin_key = "0123456789abcdef0123456789abcdef"
invoice_key_file = "/run/secrets/invoice"

[lnd]
rest_url = "https://127.0.0.1:8080"
macaroon = "0201036c6e64"
"""


async def all_rows(url: URL | str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every lnpilot table, in a fixed order."""
    async with await Store.open(url, migrate=False) as opened, opened.read() as reader:
        rows = {}
        for table in metadata.sorted_tables:
            query = select(table).order_by(*table.columns)
            rows[table.name] = [tuple(r) for r in await reader.connection.execute(query)]
        return rows


@pytest.fixture
async def target_url(database_url: URL, tmp_path: Path) -> AsyncIterator[URL]:
    """An empty database of the same kind as the store's, never migrated."""
    if database_url.get_backend_name() == "sqlite":
        yield normalize_url(sqlite_url(tmp_path / "restored"))
        return
    async with _fresh_pg_database(database_url.set(database="test")) as url:
        yield url


async def filled(sim: Sim, store: Store) -> None:
    collector = sim.collector(store)
    for _ in range(3):
        sim.traffic(4)
        await collector.run_once()
        sim.advance(timedelta(minutes=10))
    await store.rollup()
    assert await ScbKeeper(sim.lnd, store, clock=lambda: sim.now).take() is not None


async def test_round_trip_restores_every_row_once(
    sim: Sim, store: Store, database_url: URL, target_url: URL, tmp_path: Path
) -> None:
    await filled(sim, store)
    config = tmp_path / "lnpilot.toml"
    config.write_text(CONFIG)
    url = database_url.render_as_string(hide_password=False)
    report = await create_archive(
        store, url, tmp_path / "out", files=[config], clock=lambda: sim.now
    )
    before = await all_rows(database_url)
    assert sum(map(len, before.values())) > 100 and before["forwards"]
    assert report.manifest["database"]["row_counts"] == {t: len(r) for t, r in before.items()}
    assert report.manifest["secrets_left_out"] == {
        "config/lnpilot.toml": ["lnbits.admin_key", "lnd.macaroon"]
    }
    assert (await verify_archive(report.path)).manifest == report.manifest

    target = target_url.render_as_string(hide_password=False)
    restored = await restore_archive(report.path, target, files_to=tmp_path / "files")
    assert await all_rows(target_url) == before
    carried = (tmp_path / "files" / "lnpilot.toml").read_text()
    assert "0123456789abcdef" not in carried and "0201036c6e64" not in carried
    assert "# the operator's comment survives" in carried
    assert 'invoice_key_file = "/run/secrets/invoice"' in carried
    scb = (tmp_path / "files" / "channel.backup").read_bytes()
    assert scb == (await sim.lnd.export_backup()).multi_chan_backup
    assert restored.row_counts == {t: len(r) for t, r in before.items()}

    with pytest.raises(RestoreRefused, match="not empty"):
        await restore_archive(report.path, target)
    await restore_archive(report.path, target, force=True)
    assert await all_rows(target_url) == before, "a forced restore duplicates nothing"


async def test_verify_finds_a_damaged_or_foreign_archive(
    sim: Sim, store: Store, database_url: URL, tmp_path: Path
) -> None:
    await filled(sim, store)
    url = database_url.render_as_string(hide_password=False)
    report = await create_archive(store, url, tmp_path, clock=lambda: sim.now)
    damaged = tmp_path / "damaged.tar.gz"
    data = bytearray(report.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(ArchiveInvalid):
        await verify_archive(damaged)
    swapped = tmp_path / "swapped.tar.gz"
    with tarfile.open(report.path) as source, tarfile.open(swapped, "w:gz") as out:
        for member in source.getmembers():
            extracted = source.extractfile(member)
            if member.name == "scb/channel.backup":
                member.size = 3
                out.addfile(member, io.BytesIO(b"bad"))
            else:
                out.addfile(member, extracted)
    with pytest.raises(ArchiveInvalid, match=r"scb/channel.backup: checksum or size differs"):
        await verify_archive(swapped)
    with pytest.raises(ArchiveInvalid, match="not a readable"):
        await verify_archive(tmp_path / "lnpilot.toml.missing")


def test_prune_keeps_the_newest_archives_only(tmp_path: Path) -> None:
    names = [f"lnpilot-backup-2026120{d}T000000Z.tar.gz" for d in range(1, 6)]
    for name in [*names, "notes.txt", ".lnpilot-backup-20261209T000000Z.tar.gz.partial"]:
        (tmp_path / name).write_text("x")
    assert newest_archive_at(tmp_path) == datetime(2026, 12, 5, tzinfo=UTC)
    deleted = prune(tmp_path, keep=2)
    assert [p.name for p in deleted] == names[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*names[3:], "notes.txt", ".lnpilot-backup-20261209T000000Z.tar.gz.partial"]
    )
