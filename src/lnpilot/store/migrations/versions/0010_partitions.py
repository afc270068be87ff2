"""The raw time series partitioned by month on PostgreSQL; SQLite keeps its plain tables.

Revision ID: 0010
Revises: 0009

``forwards`` (by ``timestamp_ns``), ``channel_snapshots`` and ``failed_forwards`` (by ``at``)
become range-partitioned tables, one partition per calendar month (UTC) in the schema
``lnpilot_partitions``, so retention drops a month instead of deleting its rows
(``lnpilot.store.partitions``). Each table is rebuilt: the new partitioned table takes the
old one's columns (``LIKE``), its id sequence (ids go on where they were: rollup
watermarks stay valid) and its constraint names; the primary key becomes ``(id, <key>)``
because PostgreSQL wants the partition key in every unique index. The existing rows are
copied into partitions made for every month they span, then the old table is dropped.

Frozen like 0001: every name and index is spelt out here, whatever the code says later.
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import op
from sqlalchemy import Connection, text

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SCHEMA = "lnpilot_partitions"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Table, partition key, whether the key is LND's nanoseconds, its unique index and its SQL.
TABLES = (
    (
        "forwards",
        "timestamp_ns",
        True,
        "uq_forwards_identity",
        (
            "CREATE UNIQUE INDEX uq_forwards_identity ON forwards (node_id, timestamp_ns,"
            " chan_id_in, chan_id_out, coalesce(incoming_htlc_id, -1),"
            " coalesce(outgoing_htlc_id, -1))"
        ),
    ),
    (
        "channel_snapshots",
        "at",
        False,
        "uq_channel_snapshots_node_id_chan_id_at",
        (
            "ALTER TABLE channel_snapshots ADD CONSTRAINT uq_channel_snapshots_node_id_chan_id_at"
            " UNIQUE (node_id, chan_id, at)"
        ),
    ),
    (
        "failed_forwards",
        "at",
        False,
        "uq_failed_forwards_identity",
        (
            "CREATE UNIQUE INDEX uq_failed_forwards_identity ON failed_forwards (node_id, at,"
            " coalesce(chan_id_in, -1), coalesce(incoming_htlc_id, -1),"
            " coalesce(chan_id_out, -1), coalesce(outgoing_htlc_id, -1))"
        ),
    ),
)


def _month(at: datetime) -> datetime:
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def _next(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def _bound(at: datetime, in_ns: bool) -> str:
    return str((at - EPOCH) // _US * 1000) if in_ns else f"'{at.isoformat()}'"


_US = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - EPOCH


def _span(conn: Connection, table: str, key: str, in_ns: bool) -> list[datetime]:
    """The months from the oldest row's to the next one after now."""
    oldest = conn.execute(text(f'SELECT min("{key}") FROM "{table}"')).scalar()  # noqa: S608
    now = datetime.now(UTC)
    if oldest is None:
        first = _month(now)
    else:
        first = _month(EPOCH + oldest // 1000 * _US if in_ns else oldest)
    months, month = [], first
    while month <= _next(_month(now)):
        months.append(month)
        month = _next(month)
    return months


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for table, key, in_ns, unique, unique_sql in TABLES:
        old = f"{table}_unpartitioned"
        months = _span(conn, table, key, in_ns)
        op.execute(f"ALTER TABLE {table} RENAME TO {old}")
        for name in (f"pk_{table}", f"fk_{table}_node_id_nodes"):
            op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT {name} TO {name}_old")
        op.execute(f"ALTER INDEX {unique} RENAME TO {unique}_old")  # its constraint too
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY NONE")
        op.execute(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE ({key})"
        )
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id, {key})")
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_node_id_nodes"
            " FOREIGN KEY (node_id) REFERENCES nodes (id)"
        )
        op.execute(unique_sql)
        for month in months:
            op.execute(
                f'CREATE TABLE {SCHEMA}."{table}_p{month:%Y%m}" PARTITION OF {table}'
                f" FOR VALUES FROM ({_bound(month, in_ns)}) TO ({_bound(_next(month), in_ns)})"
            )
        op.execute(f"INSERT INTO {table} SELECT * FROM {old}")  # noqa: S608
        op.execute(f"DROP TABLE {old}")
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for table, _key, _, unique, unique_sql in TABLES:
        old = f"{table}_partitioned"
        op.execute(f"ALTER TABLE {table} RENAME TO {old}")
        for name in (f"pk_{table}", f"fk_{table}_node_id_nodes"):
            op.execute(f"ALTER TABLE {old} RENAME CONSTRAINT {name} TO {name}_old")
        op.execute(f"ALTER INDEX {unique} RENAME TO {unique}_old")  # its constraint too
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY NONE")
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS)")
        op.execute(f"INSERT INTO {table} SELECT * FROM {old}")  # noqa: S608
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT fk_{table}_node_id_nodes"
            " FOREIGN KEY (node_id) REFERENCES nodes (id)"
        )
        op.execute(unique_sql)
        op.execute(f"DROP TABLE {old} CASCADE")
        op.execute(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
