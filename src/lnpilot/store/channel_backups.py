"""Static channel backups as the node gave them: verified, with their channel set and time.

A new row is written only when the backup covers another set of channels than the node's
latest: a channel's static backup never changes while the channel lives (that is what
"static" means), and LND encrypts each export with a fresh nonce, so comparing bytes would
store a copy on every read. The newest ``keep`` rows per node stay; older ones are pruned
in the same transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    RowMapping,
    String,
    Table,
    delete,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from lnpilot.store.coltypes import Id, Json, UtcDateTime
from lnpilot.store.reads import StoreReader
from lnpilot.store.tables import metadata
from lnpilot.store.transaction import StoreTransaction

#: Backups kept per node (each a few kB per channel): enough to step back a while.
DEFAULT_KEEP = 50

channel_backups = Table(
    "channel_backups",
    metadata,
    Column("id", Id, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("channel_points", Json, nullable=False),
    Column("multi_chan_backup", LargeBinary, nullable=False),
    Index(None, "node_id", "id"),
)


@dataclass(frozen=True)
class StoredBackup:
    """A multi-channel backup the node verified (it read back ``channel_points``)."""

    node_id: int
    at: datetime
    reason: str
    sha256: str
    channel_points: tuple[str, ...]
    multi_chan_backup: bytes
    id: int | None = None


def digest(multi_chan_backup: bytes) -> str:
    return hashlib.sha256(multi_chan_backup).hexdigest()


async def record(
    tx: StoreTransaction, backup: StoredBackup, *, keep: int = DEFAULT_KEEP
) -> StoredBackup | None:
    """Store `backup` unless the node's latest covers the same channels; returns it with
    its id, or None when it was not stored."""
    conn = tx.connection
    latest = await _latest(conn, backup.node_id)
    if latest is not None and sorted(latest.channel_points) == sorted(backup.channel_points):
        return None
    result = await conn.execute(
        channel_backups.insert()
        .values(
            node_id=backup.node_id,
            at=backup.at,
            reason=backup.reason,
            sha256=backup.sha256,
            channel_points=list(backup.channel_points),
            multi_chan_backup=backup.multi_chan_backup,
        )
        .returning(channel_backups.c.id)
    )
    new_id = int(result.scalar_one())
    kept = (
        select(channel_backups.c.id)
        .where(channel_backups.c.node_id == backup.node_id)
        .order_by(channel_backups.c.id.desc())
        .limit(keep)
    )
    await conn.execute(
        delete(channel_backups).where(
            channel_backups.c.node_id == backup.node_id,
            channel_backups.c.id.not_in(kept.scalar_subquery()),
        )
    )
    return replace(backup, id=new_id)


async def latest(reader: StoreReader, node_id: int | None = None) -> StoredBackup | None:
    """The newest backup of `node_id` (of any node when None: a one-node store)."""
    return await _latest(reader.connection, node_id)


async def _latest(conn: AsyncConnection, node_id: int | None) -> StoredBackup | None:
    query = select(channel_backups).order_by(channel_backups.c.id.desc()).limit(1)
    if node_id is not None:
        query = query.where(channel_backups.c.node_id == node_id)
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else _backup(row)


def _backup(row: RowMapping) -> StoredBackup:
    return StoredBackup(
        node_id=row["node_id"],
        at=row["at"],
        reason=row["reason"],
        sha256=row["sha256"],
        channel_points=tuple(row["channel_points"]),
        multi_chan_backup=bytes(row["multi_chan_backup"]),
        id=row["id"],
    )
