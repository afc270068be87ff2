"""``lnpilot swap out --channel``: a reverse swap to drain a too-full channel, with the node
(our simulated LND, direct REST) telling which channels exist and what they hold, and the
real Boltz extension on a real LNbits creating the swap (its backend the recorded stand-in).
The channel is checked before anything is asked of Boltz, shown before and after, and kept
in the swap journal."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lnpilot.base.domain import Channel, ChannelState
from lnpilot.cli.main import app
from lnpilot.devtools import LNbitsServer, WalletKeys
from lnpilot.node.lnd_rest import LndRest

from .conftest import MACAROON, World

pytestmark = pytest.mark.lnbits

ONCHAIN_ADDRESS = "bcrt1qkvj8hzqfnkkspv4wndw08mfruppy07f3u6prf2"


def _channels(world: World) -> list[Channel]:
    async def read() -> list[Channel]:
        async with LndRest(world.face.url, MACAROON) as lnd:
            return await lnd.list_channels()

    return asyncio.run(read())


def test_swap_out_names_checks_and_journals_the_channel_it_drains(
    world: World,
    ext_server: LNbitsServer,
    ext_wallet: object,
    boltz_backend: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.upper().startswith("LNPILOT_") and name.upper() != "LNPILOT_LNBITS_VENV":
            monkeypatch.delenv(name)
    keys: WalletKeys = ext_wallet(300_000)  # type: ignore[operator]
    env = {
        "LNPILOT_LNBITS__URL": ext_server.url,
        "LNPILOT_LNBITS__INVOICE_KEY": keys.inkey,
        "LNPILOT_LNBITS__ADMIN_KEY": keys.adminkey,
        "LNPILOT_LND__REST_URL": world.face.url,
        "LNPILOT_LND__MACAROON": MACAROON,
        "LNPILOT_DATA_DIR": str(tmp_path / "data"),
    }
    runner = CliRunner()

    def cli(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), env=env)

    channels = [c for c in _channels(world) if c.state is ChannelState.ACTIVE]
    full = max(channels, key=lambda c: c.local_balance_msat)
    assert full.scid is not None and full.local_balance_msat > 200_000_000
    local_sat = full.local_balance_msat // 1000

    dry = cli("swap", "out", "100000", "--address", ONCHAIN_ADDRESS, "--channel", full.scid)
    assert dry.exit_code == 0, dry.output
    assert f"channel {full.scid}: local {local_sat:,} sat" in dry.stdout
    assert f"-> {local_sat - 100_000:,} sat" in dry.stdout
    assert "LNbits cannot choose the outgoing channel" in dry.stdout
    assert "Dry run: nothing created" in dry.output

    unknown = cli("swap", "out", "100000", "--address", ONCHAIN_ADDRESS, "--channel", "1x2x3")
    assert unknown.exit_code == 2 and "no channel 1x2x3 on the node" in unknown.output
    too_much = str(local_sat + 1)
    over = cli("swap", "out", too_much, "--address", ONCHAIN_ADDRESS, "--channel", full.scid)
    assert over.exit_code == 2 and "spendable on our side" in over.output
    bad = cli("swap", "out", "100000", "--address", ONCHAIN_ADDRESS, "--channel", "eight")
    assert bad.exit_code == 2

    done = cli(
        "swap",
        "out",
        "100000",
        "--address",
        ONCHAIN_ADDRESS,
        "--channel",
        full.scid,
        "--apply",
        "--yes",
        "--json",
    )
    assert done.exit_code == 0, done.output
    swap = json.loads(done.stdout)["swap"]
    assert swap["chan_id"] == full.chan_id and swap["kind"] == "out"
    listed = json.loads(cli("swap", "status", swap["swap_id"], "--json").stdout)
    assert listed["chan_id"] == full.chan_id
