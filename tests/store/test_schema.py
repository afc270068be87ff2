"""The database lnpilot opens: migrated to the schema the code declares, set up as designed."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from lnpilot.store import Store, head_revision, normalize_url, sqlite_url, upgrade
from lnpilot.store.levels import epoch_ns
from lnpilot.store.tables import forwards, metadata

from .factories import T0, forward, new_node


def _schema_differences(conn: Connection) -> list[object]:
    with warnings.catch_warnings():
        # SQLite cannot reflect the expression indexes (forwards' identity), so they are not
        # compared there; the duplicate tests prove they work.
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        return list(compare_metadata(MigrationContext.configure(conn), metadata))


async def test_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_schema_differences) == []
        revision = await conn.run_sync(
            lambda c: MigrationContext.configure(c).get_current_revision()
        )
    assert revision == head_revision()


async def test_upgrade_twice_is_harmless(database_url: URL) -> None:
    assert await upgrade(database_url) == head_revision()
    assert await upgrade(database_url) == head_revision()


def test_the_migrations_ship_inside_the_package() -> None:
    versions = resources.files("lnpilot.store.migrations") / "versions"
    assert (resources.files("lnpilot.store.migrations") / "env.py").is_file()
    assert any(p.name.startswith("0001_") for p in versions.iterdir())


async def test_default_database_is_one_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet"
    async with await Store.open(sqlite_url(data_dir)) as store, store.engine.connect() as conn:
        pragmas = [
            (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys")
        ]
    assert pragmas == ["wal", 1, 1], "WAL, synchronous=NORMAL, foreign keys on"
    assert sorted(p.name for p in data_dir.iterdir())[0] == "lnpilot.sqlite"


async def test_foreign_keys_are_enforced(store: Store) -> None:
    row = {
        "node_id": 999_999,
        # now: a month the migration made a partition for on PostgreSQL, so the foreign
        # key, not a missing partition, is what refuses the row
        "timestamp_ns": epoch_ns(datetime.now(UTC)),
        "chan_id_in": 1,
        "chan_id_out": 2,
        "amt_in_msat": 2,
        "amt_out_msat": 1,
        "fee_msat": 1,
    }
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as conn:
            await conn.execute(insert(forwards).values(row))


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sqlite://", "file path"),
        ("sqlite:///:memory:", "file path"),
        ("mysql://u@h/db", "unsupported database"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalize_url(url)


def test_urls_get_their_async_driver() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert normalize_url("sqlite:////x/y.sqlite").drivername == "sqlite+aiosqlite"


async def test_readers_see_one_snapshot(store: Store) -> None:
    """A reader's statements agree even while a writer commits in between (REPEATABLE READ
    on PostgreSQL, a WAL read transaction on SQLite)."""
    node = await new_node(store)
    async with store.read() as r:
        before = await r.forwards(node, T0, T0 + timedelta(days=1))
        async with store.transaction() as tx:
            await tx.append_forwards(node, [forward(T0, 1, 2)])
        after = await r.forwards(node, T0, T0 + timedelta(days=1))
    assert before == after == []
    async with store.read() as r:
        assert len(await r.forwards(node, T0, T0 + timedelta(days=1))) == 1
