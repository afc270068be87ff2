"""The daemon's backup loops: the node's channel backup followed, and archives on schedule.

Kept apart from :mod:`lnpilot.service.daemon` so the loop table gains one line. The channel
backup loop runs only when a backend can export backups (a direct LND connection); a
follow is bounded by ``[backup] scb_follow_s`` so the daemon stops within that time, and
each follow starts with the backup of that moment, so running them back to back misses no
open or close.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

from lnpilot.backup import ScbKeeper
from lnpilot.backup.archive import create_archive, newest_archive_at, prune
from lnpilot.backup.scb import refresh_before_archive
from lnpilot.backup.sealed import Sealer
from lnpilot.base.domain import Capability
from lnpilot.config import Settings
from lnpilot.service.context import Services
from lnpilot.service.supervisor import Loop

log = logging.getLogger(__name__)

ARCHIVE_DIR_NAME = "backups"


def archive_dir(settings: Settings) -> Path:
    """``[backup] archive_dir``, else the data directory's ``backups`` folder."""
    return settings.backup.archive_dir or settings.data_dir / ARCHIVE_DIR_NAME


def carried_files(settings: Settings) -> list[Path]:
    """The configuration, fee policy and alerts files the daemon runs with, once each."""
    named = (
        settings.backup.config_file,
        settings.service.fees_policy_file,
        settings.service.alerts_file,
    )
    files: list[Path] = []
    for path in named:
        if path is not None and path.is_file() and path.resolve() not in files:
            files.append(path.resolve())
    return files


def notice_sealer(settings: Settings) -> Sealer | None:
    """The sealer for channel backup notices when ``[backup] scb_notify_passphrase_file``
    is set (its key is derived here, once: scrypt is slow on purpose), else None."""
    passphrase = settings.backup.scb_notify_passphrase_file
    return None if passphrase is None else Sealer(passphrase.get_secret_value())


def backup_loops(
    services: Services, database_url: str, expected: tuple[type[Exception], ...]
) -> list[Loop]:
    """The loops ``[backup]`` asks for (none when ``enabled = false``); ``expected`` are the
    failures logged in one line (the node out of reach), as for the daemon's other loops."""
    settings = services.settings
    backup = settings.backup
    if not backup.enabled:
        return []
    store, node, clock = services.store, services.node, services.clock
    loops = []
    sealer = notice_sealer(settings)
    if Capability.EXPORT_BACKUP in node.capabilities:
        keeper = ScbKeeper(node, store, clock=clock, copy_dir=backup.scb_dir, sealer=sealer)

        async def follow_scb() -> None:
            await keeper.follow(backup.scb_follow_s)

        loops.append(Loop("scb", backup.scb_follow_s, follow_scb, expected=expected))

    async def archive() -> None:
        """An archive when the newest in the folder is an interval old (a restarted daemon
        does not write one per start, which would push the daily ones out of ``keep``)."""
        where = archive_dir(settings)
        now = clock()
        newest = await asyncio.to_thread(newest_archive_at, where)
        if newest is not None and now - newest < timedelta(seconds=backup.interval_s * 0.99):
            log.info("backup archive not due: the newest in %s is from %s", where, newest)
            return
        await refresh_before_archive(node, store, clock, sealer)
        await create_archive(
            store,
            database_url,
            where,
            files=carried_files(settings),
            include_secrets=backup.include_secrets,
            clock=clock,
        )
        prune(where, backup.keep)

    loops.append(Loop("backup", backup.interval_s, archive, expected=expected))
    return loops
