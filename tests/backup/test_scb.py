"""The channel backup keeper on the simulated node, through its LND REST face."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from collect.conftest import Sim
from lnpilot.backup import SCB_FILE_NAME, BackupRefused, ScbKeeper
from lnpilot.base.domain import ChannelBackup
from lnpilot.store import Store
from lnpilot.store import channel_backups as stored
from node.test_lnd_rest_on_simnet import WAIT_S, eventually


def keeper(sim: Sim, store: Store, copy_dir: Path | None = None) -> ScbKeeper:
    return ScbKeeper(sim.lnd, store, clock=lambda: sim.now, copy_dir=copy_dir)


def open_points(sim: Sim) -> set[str]:
    with sim.lock:
        return set(sim.ours.channel_backup())


async def test_take_verifies_stores_and_copies(sim: Sim, store: Store, tmp_path: Path) -> None:
    kept = await keeper(sim, store, tmp_path).take()
    assert kept is not None and set(kept.channel_points) == open_points(sim)
    assert (tmp_path / SCB_FILE_NAME).read_bytes() == kept.multi_chan_backup
    async with store.read() as reader:
        latest = await stored.latest(reader)
    assert latest == kept and latest.at == sim.now
    assert await keeper(sim, store, tmp_path).take() is None, "an unchanged backup is not stored"


async def test_a_corrupted_backup_is_refused_and_nothing_is_kept(
    sim: Sim, store: Store, tmp_path: Path
) -> None:
    good = await sim.lnd.export_backup()
    blob = bytearray(good.multi_chan_backup)
    blob[40] ^= 0xFF
    with pytest.raises(BackupRefused, match="invalid multi channel backup"):
        await keeper(sim, store, tmp_path).keep(
            ChannelBackup(bytes(blob), good.channel_points), "test"
        )
    claims_more = ChannelBackup(good.multi_chan_backup, (*good.channel_points, "ab" * 32 + ":1"))
    with pytest.raises(BackupRefused, match="not the channels it names"):
        await keeper(sim, store, tmp_path).keep(claims_more, "test")
    async with store.read() as reader:
        assert await stored.latest(reader) is None
    assert not (tmp_path / SCB_FILE_NAME).exists()


async def test_a_new_backup_on_every_open_and_close(sim: Sim, store: Store, tmp_path: Path) -> None:
    """Subscribed: the backup of the moment, then one after the open, one after the close."""
    follow = asyncio.create_task(keeper(sim, store, tmp_path).follow(60, max_updates=3))

    async def latest_covering(points: set[str]) -> stored.StoredBackup | None:
        async with store.read() as reader:
            backup = await stored.latest(reader)
        return backup if backup is not None and set(backup.channel_points) == points else None

    before = open_points(sim)
    await eventually(lambda: latest_covering(before), "the backup taken on subscribing")
    with sim.lock:
        opened = sim.ours.open_channel(sim.nodes["carol"], 300_000)
    after_open = await eventually(
        lambda: latest_covering(before | {opened.channel_point}), "a backup after the open"
    )
    assert after_open.reason == "channel change"
    sim.mine(sim.net.config.open_confirmations)
    with sim.lock:
        sim.ours.close_channel(opened.channel_point)
    sim.mine(1)
    await eventually(lambda: latest_covering(before), "a backup after the close")
    assert await asyncio.wait_for(follow, WAIT_S) == 3
    assert (tmp_path / SCB_FILE_NAME).read_bytes() == (
        await sim.lnd.export_backup()
    ).multi_chan_backup
