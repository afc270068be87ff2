"""The daemon's backup loops and the ``lnpilot backup`` commands, as real processes on the
simulated node: the channel backup is followed and copied, an archive is written on
schedule, and the commands verify and restore it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import pytest

from service.conftest import LNPILOT, busy_sim, daemon_process

WAIT_S = 30.0


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LNPILOT, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def wait_for_file(path: Path) -> Path:
    deadline = time.monotonic() + WAIT_S
    while not path.is_file():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)
    return path


async def test_daemon_follows_the_channel_backup_and_archives_on_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LNPILOT_BACKUP__SCB_FOLLOW_S", "1")
    monkeypatch.setenv("LNPILOT_BACKUP__SCB_DIR", str(tmp_path / "usb"))
    async with busy_sim() as sim:
        with daemon_process(tmp_path, sim.face.url) as daemon:
            daemon.wait_healthy({"collect", "scb", "backup"})
            scb = wait_for_file(tmp_path / "usb" / "channel.backup")
            assert scb.read_bytes() == (await sim.lnd.export_backup()).multi_chan_backup
            with sim.lock:
                opened = sim.ours.open_channel(sim.nodes["dave"], 250_000)
            deadline = time.monotonic() + WAIT_S
            while scb.read_bytes() != (await sim.lnd.export_backup()).multi_chan_backup:
                assert time.monotonic() < deadline, "no new channel backup after the open"
                await asyncio.sleep(0.1)
            assert daemon.terminate() == 0
        (archive,) = (tmp_path / "data" / "backups").glob("lnpilot-backup-*.tar.gz")
        config = daemon.config

        verified = run(config, "backup", "verify", str(archive), "--json")
        assert verified.returncode == 0, verified.stderr
        summary = json.loads(verified.stdout)
        assert summary["ok"] and summary["database"] == "sqlite"
        assert summary["files"] == [
            "config/alerts.toml",
            "config/fees.toml",
            "config/lnpilot.toml",
            "scb/channel.backup",
            "store/lnpilot.sqlite",
        ]
        assert summary["secrets_left_out"]["config/lnpilot.toml"] == ["lnd.macaroon"]

        taken = run(config, "backup", "scb", "--to", str(tmp_path / "manual-scb"), "--json")
        assert taken.returncode == 0, taken.stderr
        scb_now = json.loads(taken.stdout)
        assert opened.channel_point in scb_now["channel_points"]
        assert (tmp_path / "manual-scb" / "channel.backup").is_file()

        made = run(config, "backup", "create", "--to", str(tmp_path / "manual"), "--json")
        assert made.returncode == 0, made.stderr
        fresh = json.loads(made.stdout)
        assert fresh["channel_backup_channels"] == len(sim.ours.channel_backup())
        assert opened.channel_point in (await sim.lnd.export_backup()).channel_points

        target = f"sqlite:///{tmp_path / 'restored' / 'lnpilot.sqlite'}"
        args = ("backup", "restore", fresh["archive"], "--db", target)
        restored = run(config, *args, "--files-to", str(tmp_path / "files"), "--json")
        assert restored.returncode == 0, restored.stderr
        assert json.loads(restored.stdout)["rows"] == fresh["rows"]
        again = run(config, *args)
        assert again.returncode == 2
        assert "not empty" in again.stderr and "--force" in again.stderr
