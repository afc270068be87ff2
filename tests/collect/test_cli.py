"""``lnpilot collect``, ``channels`` and ``channel`` as separate processes against the
simulated node's LND face: each run is a new collector that resumes from the database the
previous one left, as cron would run it."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .conftest import MACAROON, Sim, running_sim


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)


@dataclass
class Cli:
    sim: Sim
    workdir: Path

    async def __call__(self, *args: str) -> Run:
        env = {
            "PATH": "/usr/bin:/bin",
            "COLUMNS": "200",
            "LNPILOT_DATA_DIR": str(self.workdir / "data"),
            "LNPILOT_LNBITS__URL": "http://127.0.0.1:9",  # no login: LNbits is not used
            "LNPILOT_LND__REST_URL": self.sim.face.url,
            "LNPILOT_LND__MACAROON": MACAROON,
        }
        return await _lnpilot(self.workdir, *args, env=env)


@pytest.fixture
async def cli(tmp_path: Path) -> AsyncIterator[Cli]:
    # The collector stamps its cycles with the real clock: so does the network here.
    async with running_sim(datetime.now(UTC) - timedelta(minutes=5)) as sim:
        yield Cli(sim, tmp_path)


async def test_collect_once_then_again_in_a_new_process(cli: Cli) -> None:
    sim = cli.sim
    sim.traffic(3, every=timedelta(seconds=1))
    [first] = (await cli("collect", "--once", "--json")).json()
    assert (first["first"], first["channels"], first["forwards_new"]) == (True, 6, 3)
    assert first["events"] == [] and first["missing"] == []

    sim.traffic(2, every=timedelta(seconds=1))
    with sim.lock:
        sim.ours.close_channel(sim.chans["800000x3x0"].channel_point)
    sim.mine()
    again = await cli("collect", "--once")
    assert again.code == 0, again.stderr
    assert "+2 forwards (index 5)" in again.stdout
    assert "channel_closed 800000x3x0 cooperative (closed by local)" in again.stdout


async def test_channels_and_one_channel_from_the_store(cli: Cli) -> None:
    sim = cli.sim
    sim.traffic(4, every=timedelta(seconds=1))
    assert (await cli("collect", "--once")).code == 0

    listed = (await cli("channels", "--json")).json()
    by_scid = {c["channel"]["scid"]: c for c in listed["channels"]}
    assert set(by_scid) == set(sim.chans)
    carol = by_scid["800000x2x0"]
    [week] = [w for w in carol["windows"] if w["window"] == "P7D"]
    assert week["forwards_out"] == 2 and week["forwards_in"] == 2
    channel = carol["channel"]
    assert channel["state"] == "active" and channel["local_policy"]["fee_rate_ppm"] == 100
    assert channel["peer_alias"] == "carol"  # from the node's graph, as LND answers it
    table = await cli("channels")
    assert table.code == 0 and "800000x2x0" in table.stdout and "fees 7d" in table.stdout
    assert "carol" in table.stdout

    one = (await cli("channel", "800000x2x0", "--json")).json()
    assert one["metrics"]["channel"]["chan_id"] == sim.chans["800000x2x0"].chan_id
    assert len(one["policy_history"]) == 2  # both directions, first seen
    shown = await cli("channel", "800000x2x0")
    assert shown.code == 0 and "return on liquidity" in shown.stdout

    missing = await cli("channel", "800000x9x9")
    assert missing.code == 1 and "no channel 800000x9x9" in missing.stderr


async def test_usage_and_outage_exit_codes(cli: Cli) -> None:
    assert (await cli("collect", "--once", "--every", "1m")).code == 2  # one or the other
    assert (await cli("collect", "--every", "soon")).code == 2
    cli.sim.stop_face()
    down = await cli("collect")  # one reading is the default
    assert down.code == 1
    assert down.stderr.splitlines()[-1].startswith("LndRestError: GET /v1/getinfo: ")
    assert (await cli("channels", "--node", cli.sim.nodes["ours"])).code == 1  # not collected


async def test_collect_every_cycles_under_the_supervisor_until_ctrl_c(cli: Cli) -> None:
    """``--every`` runs the daemon's collection loops: a compact JSON line per cycle, and
    Ctrl-C (SIGINT) lets the cycle under way finish and exits 0."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LNPILOT_DATA_DIR": str(cli.workdir / "data"),
        "LNPILOT_LNBITS__URL": "http://127.0.0.1:9",
        "LNPILOT_LND__REST_URL": cli.sim.face.url,
        "LNPILOT_LND__MACAROON": MACAROON,
    }
    cli.sim.traffic(2, every=timedelta(seconds=1))
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("lnpilot")),
        *("collect", "--every", "1s", "--jitter", "0", "--json"),
        env=env,
        cwd=cli.workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), timeout=60))
        cli.sim.traffic(1, every=timedelta(seconds=1))
        second = json.loads(await asyncio.wait_for(process.stdout.readline(), timeout=60))
    finally:
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert (first["first"], first["forwards_new"]) == (True, 2)
    assert not second["first"] and second["forward_index"] >= 2
    assert process.returncode == 0, err.decode()
    assert "Collecting every 1s" in err.decode() and "Stopped." in err.decode()


async def _lnpilot(workdir: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    """lnpilot as its own process; with no ``env``, no LNPILOT_ variable: only the files
    configure it."""
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("lnpilot")),
        *args,
        env=env or {"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


async def test_init_checks_lnd_and_writes_a_config_that_collects(cli: Cli) -> None:
    """``lnpilot init`` with LND only: the macaroon is tried on the node, and the written
    configuration alone reads the node."""
    work = cli.workdir
    (work / "lnpilot.macaroon").write_text(MACAROON)
    args = ["--lnbits-url", "http://127.0.0.1:9", "--lnd-rest-url", cli.sim.face.url]
    done = await _lnpilot(
        work, "init", "--dir", "node", *args, "--macaroon-file", "lnpilot.macaroon"
    )
    assert done.code == 0, done.stderr
    assert "ok LND: node" in done.stdout
    assert "Node backends: lnd-rest." in done.stdout
    (work / "bad.macaroon").write_text("0201" + "00" * 8)
    refused = await _lnpilot(
        work, "init", "--dir", "other", *args, "--macaroon-file", "bad.macaroon"
    )
    assert refused.code == 2 and "nothing written" in refused.stderr
    assert not (work / "other").exists()

    [cycle] = (await _lnpilot(work, "-c", "node/lnpilot.toml", "collect", "--json")).json()
    assert cycle["channels"] > 0
