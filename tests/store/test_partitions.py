"""Retention in bounded batches (both databases) and by dropping monthly partitions
(PostgreSQL, migration 0010): old months go whole, the rest stays exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, event, func, select, text
from sqlalchemy.engine import URL

from lnpilot.config import ConfigError, load_settings, retention_of
from lnpilot.devtools.pg_database import FreshPgDatabase
from lnpilot.store import Retention, Store, upgrade
from lnpilot.store import partitions as parts
from lnpilot.store.convert import forward_row
from lnpilot.store.database import create_engine, insert_returning_id, writing
from lnpilot.store.migrate import alembic_config
from lnpilot.store.retention import apply_retention
from lnpilot.store.tables import channel_snapshots, forwards, nodes

from .factories import chan_id, channel, forward, new_node, pubkey

JAN = datetime(2025, 1, 10, 12, tzinfo=UTC)
FORWARD_TIMES = [JAN, JAN + timedelta(days=31), JAN + timedelta(days=59), JAN + timedelta(days=90)]
NOW = datetime(2025, 4, 20, tzinfo=UTC)  # forwards kept 30 days: cutoff 21 March


async def _count(store: Store, table: Any) -> int:
    async with store.read() as r:
        query = select(func.count()).select_from(table)
        return int((await r.connection.execute(query)).scalar_one())


async def _fees(store: Store, node: int, cid: int) -> int:
    async with store.read() as r:
        totals = await r.channel_totals(node, JAN - timedelta(days=1), NOW, now=NOW)
    return totals[cid].fee_in_msat


def _postgresql_only(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("partitions are PostgreSQL's; SQLite keeps plain tables")


async def _months(store: Store, table: Any) -> list[str]:
    async with store.read() as r:
        return [f"{m:%Y-%m}" for m in await parts.months(r.connection, table)]


async def _forwards_over_four_months(store: Store) -> tuple[int, int]:
    node = await new_node(store)
    cid = chan_id(802_000)
    for n, at in enumerate(FORWARD_TIMES):
        async with store.transaction() as tx:
            await tx.append_forwards(node, [forward(at, cid, chan_id(1), fee_msat=10**n)])
    return node, cid


async def test_retention_drops_whole_months_and_keeps_the_rest(
    database_url: URL, store: Store
) -> None:
    _postgresql_only(store)
    node, cid = await _forwards_over_four_months(store)
    assert (await _months(store, forwards))[:4] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    await store.rollup([node])
    async with await Store.open(database_url, retention=Retention(forwards=timedelta(30))) as s:
        deleted = await s.apply_retention(NOW)
    assert deleted["forwards"] == 3, "January and February dropped, 10 March deleted"
    assert (await _months(store, forwards))[:2] == ["2025-03", "2025-04"]
    async with store.read() as r:
        fees = (await r.connection.execute(select(forwards.c.fee_msat))).scalars().all()
    assert fees == [1000], "only the April forward is left"
    assert await _fees(store, node, cid) == 1111, "the rollups still count every forward"
    async with store.transaction() as tx:  # a late forward of a dropped month comes back
        assert await tx.append_forwards(node, [forward(JAN, cid, chan_id(1), htlc=5)]) == 1
    assert "2025-01" in await _months(store, forwards)


async def test_a_month_not_rolled_up_is_not_dropped(database_url: URL, store: Store) -> None:
    _postgresql_only(store)
    await _forwards_over_four_months(store)
    async with await Store.open(database_url, retention=Retention(forwards=timedelta(30))) as s:
        assert (await s.apply_retention(NOW))["forwards"] == 0
    assert (await _months(store, forwards))[:4] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert await _count(store, forwards) == 4


async def test_retention_deletes_in_batches_of_bounded_size(store: Store) -> None:
    """Seven snapshots past the 7 days of raw retention (in April, whose partition stays),
    batches of two: four DELETE statements, each in a transaction of its own."""
    node = await new_node(store)
    cid = chan_id(802_100)
    old = [NOW - timedelta(days=8, minutes=5 * n) for n in range(7)]
    for at in [*old, NOW]:
        async with store.transaction() as tx:
            await tx.record_channels(node, [channel(cid)], at)
    await store.rollup([node])
    statements: list[tuple[str, bool]] = []

    def seen(conn: Connection, _cursor: object, sql: str, *_: object) -> None:
        statements.append((sql, conn.in_transaction()))

    event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    try:
        deleted = await apply_retention(store.engine, store.retention, NOW, batch_rows=2)
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", seen)
    assert deleted["channel_snapshots"] == 7
    assert await _count(store, channel_snapshots) == 1
    deletes = [sql for sql, _ in statements if sql.startswith("DELETE FROM channel_snapshots")]
    assert len(deletes) == 4


async def test_the_migration_moves_existing_rows_into_partitions(database_url: URL) -> None:
    """A PostgreSQL database at 0009 with forwards: after 0010 they are in their months'
    partitions with their ids, new rows continue the ids, duplicates are still refused."""
    if database_url.get_backend_name() != "postgresql":
        pytest.skip("migration 0010 changes nothing on SQLite")
    cid = chan_id(802_200)
    old = [forward(JAN, cid, chan_id(1)), forward(JAN + timedelta(days=59), cid, chan_id(1))]
    async with FreshPgDatabase(database_url.set(database="test")) as url:
        engine = create_engine(url)
        try:
            async with writing(engine) as conn:  # rows as 0009's code wrote them: plain inserts
                await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0009"))
                node_row = {"pubkey": pubkey(), "first_seen_at": JAN, "last_seen_at": JAN}
                node = await insert_returning_id(conn, nodes, node_row)
                await conn.execute(forwards.insert(), [forward_row(node, f) for f in old])
        finally:
            await engine.dispose()
        await upgrade(url)
        async with await Store.open(url) as store:
            months = await _months(store, forwards)
            assert months[:3] == ["2025-01", "2025-02", "2025-03"], "every month up to now"
            async with store.transaction() as tx:
                assert await tx.append_forwards(node, old) == 0, "still unique"
                late = forward(JAN + timedelta(days=1), cid, chan_id(1))
                assert await tx.append_forwards(node, [late]) == 1
            async with store.read() as r:
                rows = await r.connection.execute(
                    select(
                        forwards.c.id, forwards.c.timestamp_ns, text("tableoid::regclass")
                    ).order_by(forwards.c.id)
                )
                ids = [tuple(row) for row in rows]
    assert ids[:2] == [
        (1, old[0].timestamp_ns, "lnpilot_partitions.forwards_p202501"),
        (2, old[1].timestamp_ns, "lnpilot_partitions.forwards_p202503"),
    ]
    # the refused duplicates took sequence numbers too (PostgreSQL's ON CONFLICT does)
    assert ids[2][1:] == (late.timestamp_ns, "lnpilot_partitions.forwards_p202501")
    assert ids[2][0] > 2, "the sequence went on where the old table left it"


def test_forwards_keep_days_sets_the_forwards_retention(tmp_path: Path) -> None:
    config = tmp_path / "lnpilot.toml"
    config.write_text('[lnbits]\nurl = "http://127.0.0.1:9"\n')
    assert retention_of(load_settings(config)).forwards is None, "forever by default"
    config.write_text(config.read_text() + "[retention]\nforwards_keep_days = 400\n")
    assert retention_of(load_settings(config)).forwards == timedelta(days=400)
    config.write_text(config.read_text().replace("400", "-1"))
    with pytest.raises(ConfigError, match="forwards_keep_days"):
        load_settings(config)
