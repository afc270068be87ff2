"""Keeping the node's static channel backup (SCB): taken, verified, stored, copied.

LND rewrites its multi-channel backup whenever a channel opens or closes; a copy older than
the newest channel cannot recover that channel's funds. So the keeper follows LND's backup
subscription (a new backup on every open and close) and also takes one on its schedule, as
a safety net for a subscription that broke unnoticed. Each backup is verified by the node
itself before it is kept (``VerifyChanBackup``: the node decrypts it and lists its
channels, which must be the channels it claims to cover), then stored with its channel set
and time, and written to ``copy_dir`` (an external disk, a synced folder) as
``channel.backup``, the file name LND itself uses, atomically so that a reader of that
folder never sees half a file. With a :class:`~lnpilot.backup.sealed.Sealer` each newly
stored backup is also sealed with the operator's passphrase and queued in the notification
outbox in the same transaction as the stored row: sent once per backup, even across a
crash or a restart, to whatever receivers the ``channel_backup`` routes name.

Every decision is logged with its reason, the ones not to store a backup included.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from contextlib import aclosing
from datetime import datetime
from pathlib import Path

from lnpilot.backup.sealed import SEALED_FILE_NAME, Sealer
from lnpilot.base.domain import Capability, ChannelBackup
from lnpilot.node.backend import NodeBackend, NodeError
from lnpilot.store import Store
from lnpilot.store import channel_backups as stored
from lnpilot.store.channel_backups import StoredBackup
from lnpilot.store.outbox import Notice, NoticeFile, Outbox

log = logging.getLogger(__name__)

#: LND's own name for the multi-channel backup file.
SCB_FILE_NAME = "channel.backup"
#: The ``alertname`` label of a sealed backup's notice: what a route matches to send it.
NOTICE_NAME = "channel_backup"


class BackupRefused(Exception):
    """The node did not vouch for a backup: it could not read it, or it covers other
    channels than it says."""


def write_atomically(path: Path, content: bytes) -> None:
    """`content` at `path`, all or nothing: written beside it, flushed, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    with temporary.open("wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


class ScbKeeper:
    """Takes, verifies, stores and copies the node's channel backups."""

    def __init__(
        self,
        node: NodeBackend,
        store: Store,
        *,
        clock: Callable[[], datetime],
        copy_dir: Path | None = None,
        keep: int = stored.DEFAULT_KEEP,
        sealer: Sealer | None = None,
    ) -> None:
        self._node = node
        self._store = store
        self._clock = clock
        self._copy_dir = copy_dir
        self._keep = keep
        self._sealer = sealer
        #: The channel set of the backup kept last (None until one is kept or found).
        self._kept_points: list[str] | None = None

    async def take(self, reason: str = "scheduled") -> StoredBackup | None:
        """Export the current backup and keep it; None when it equals the latest kept."""
        return await self.keep(await self._node.export_backup(), reason)

    async def keep(self, backup: ChannelBackup, reason: str) -> StoredBackup | None:
        """Verify `backup` with the node, store it and copy it; raises BackupRefused when
        the node does not vouch for it (nothing is stored or copied then). A backup of the
        channels kept last time is left alone: a channel's backup does not change."""
        if self._kept_points == sorted(backup.channel_points):
            log.debug("channel backup (%s): same channels as the one kept, skipped", reason)
            return None
        try:
            points = await self._node.verify_backup(backup.multi_chan_backup)
        except NodeError as exc:
            raise BackupRefused(f"the node could not read the channel backup: {exc}") from exc
        if sorted(points) != sorted(backup.channel_points):
            raise BackupRefused(
                f"the channel backup covers {sorted(points)}, "
                f"not the channels it names: {sorted(backup.channel_points)}"
            )
        info = await self._node.get_info()
        at = self._clock()
        async with self._store.transaction() as tx:
            node_id = await tx.upsert_node(info, at)
            kept = await stored.record(
                tx,
                StoredBackup(
                    node_id=node_id,
                    at=at,
                    reason=reason,
                    sha256=stored.digest(backup.multi_chan_backup),
                    channel_points=tuple(points),
                    multi_chan_backup=backup.multi_chan_backup,
                ),
                keep=self._keep,
            )
            if kept is not None and self._sealer is not None:
                await Outbox(tx.connection).enqueue(
                    sealed_notice(self._sealer, kept, info.pubkey), node_id
                )
        self._kept_points = sorted(points)
        copy = self._copy_dir / SCB_FILE_NAME if self._copy_dir is not None else None
        if kept is None:
            log.info(
                "channel backup (%s): the same %d channels as the one stored, not stored again",
                reason,
                len(points),
            )
            if copy is not None and not await asyncio.to_thread(copy.exists):
                await asyncio.to_thread(write_atomically, copy, backup.multi_chan_backup)
            return None
        if copy is not None:
            await asyncio.to_thread(write_atomically, copy, backup.multi_chan_backup)
        log.info(
            "channel backup (%s) stored: %d channels%s",
            reason,
            len(points),
            f", copied to {copy}" if copy is not None else "",
        )
        return kept

    async def follow(self, max_s: float, *, max_updates: int | None = None) -> int:
        """Keep the current backup and each new one the node announces, for up to `max_s`
        seconds (or `max_updates` backups); returns how many were stored.

        Bounded so that the daemon's loop returns and can be stopped; run back to back it
        misses nothing, because each subscription starts with the backup of that moment.
        """
        new = seen = 0
        try:
            async with asyncio.timeout(max_s):
                stream = self._node.channel_backups()
                async with aclosing(stream) as backups:
                    async for backup in backups:
                        reason = "subscribed" if seen == 0 else "channel change"
                        new += await self.keep(backup, reason) is not None
                        seen += 1
                        if max_updates is not None and seen >= max_updates:
                            break
        except TimeoutError:
            pass
        return new


def sealed_notice(sealer: Sealer, backup: StoredBackup, pubkey: str) -> Notice:
    """The notice carrying `backup` sealed: its text says what it covers and how to open it
    (never the passphrase, which is not in this process's text at all)."""
    when = backup.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    text = (
        f"A new channel backup of node {pubkey} was verified by the node and stored at "
        f"{when} ({backup.reason}): {len(backup.channel_points)} channels, "
        f"sha256 {backup.sha256}.\n\n"
        f"The attached {SEALED_FILE_NAME} is sealed with the passphrase of "
        "[backup] scb_notify_passphrase_file. To get LND's channel.backup back:\n\n"
        f"    lnpilot backup decrypt {SEALED_FILE_NAME} --passphrase-file FILE "
        "-o channel.backup\n\n"
        "Channels covered:\n" + "".join(f"    {p}\n" for p in backup.channel_points)
    )
    return Notice(
        group_key=f"[alertname={NOTICE_NAME}]",
        group_labels={"alertname": NOTICE_NAME, "node": pubkey},
        alerts=(),
        created_at=backup.at,
        file=NoticeFile(
            filename=SEALED_FILE_NAME,
            content_type="application/octet-stream",
            content=sealer.seal(backup.multi_chan_backup),
            title=f"channel backup: {len(backup.channel_points)} channels ({backup.reason})",
            text=text,
        ),
    )


async def refresh_before_archive(
    node: NodeBackend,
    store: Store,
    clock: Callable[[], datetime],
    sealer: Sealer | None = None,
) -> str | None:
    """Take a fresh channel backup for an archive about to be written; None when done,
    else why not (the archive then carries the last one stored: a node that is down must
    not stop the store from being backed up). A backup stored here is sent sealed like
    any other when `sealer` is given: it may be the first of a new channel set."""
    if Capability.EXPORT_BACKUP not in node.capabilities:
        return "no direct LND connection: the archive has the last stored channel backup"
    try:
        await ScbKeeper(node, store, clock=clock, sealer=sealer).take("archive")
    except (NodeError, BackupRefused) as exc:
        log.warning("no fresh channel backup for the archive: %s", exc)
        return f"no fresh channel backup ({exc}); the archive has the last one stored"
    return None
