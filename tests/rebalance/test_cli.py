"""``lnpilot rebalance`` as separate processes against the drain scenario's LND face: plan,
run with --apply, history, and the exit codes of what goes wrong. The scenario runs its
two days of traffic up to the wall clock first, since the commands stamp runs with it. The
processes are run as the collector's CLI tests run theirs; the policy file is the
``fees.toml`` of their working directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collect.test_cli import Cli

from .conftest import SHOP, WALLET, Drain, running_drain

POLICY = """
[[rule]]
name = "default"
strategy = "static"
static.fee_rate_ppm = 100

[rebalance]
min_amount_sat = 50_000
"""


@pytest.fixture
async def cli(tmp_path: Path) -> AsyncIterator[Cli]:
    async with running_drain(datetime.now(UTC) - timedelta(days=2, minutes=1)) as drain:
        drain.advance(timedelta(days=2))
        (tmp_path / "fees.toml").write_text(POLICY)
        yield Cli(drain, tmp_path)  # type: ignore[arg-type]  # it needs only .face


async def test_plan_then_run_then_history(cli: Cli) -> None:
    drain = cli.sim
    assert isinstance(drain, Drain)
    assert (await cli("rebalance", "plan")).code == 1  # nothing collected yet
    assert (await cli("collect", "--once")).code == 0
    drain.move(SHOP, "ours", keep_sat=400_000)
    drain.move(WALLET, "ours", keep_sat=5_400_000)

    planned = (await cli("rebalance", "plan", "--json")).json()
    shop, wallet, spare = planned["decisions"]
    assert (planned["mode"], planned["executor"], planned["executed"]) == (
        "dry-run",
        "circular",
        [],
    )
    assert (shop["role"], shop["action"], shop["order"]["source_scid"]) == (
        "target",
        "rebalance",
        WALLET,
    )
    assert (wallet["role"], spare["action"]) == ("source", "none")
    shop_before = drain.local_msat(SHOP)

    done = (
        await cli(
            "rebalance", "run", "--channel", SHOP, "--amount-sat", "300000", "--apply", "--json"
        )
    ).json()
    (executed,) = done["executed"]
    assert (executed["outcome"], executed["moved_msat"]) == ("succeeded", 300_000_000)
    assert executed["fee_paid_msat"] == drain.our_payment_fees_msat() == 21_000
    assert drain.local_msat(SHOP) == shop_before + 300_000_000
    (attempt,) = executed["attempts"]
    assert [h["chan_id"] for h in attempt["hops"]][-1] == drain.chan(SHOP).chan_id

    drain.advance(timedelta(seconds=30))  # customers keep paying the shop through us
    assert (await cli("collect", "--once")).code == 0
    found = (await cli("rebalance", "history", "--json")).json()
    (rebalance,) = found["rebalances"]
    assert (rebalance["outcome"], rebalance["cost_msat"], rebalance["target_scid"]) == (
        "succeeded",
        21_000,
        SHOP,
    )
    (channel,) = found["channels"]
    assert (channel["scid"], channel["bought_msat"], channel["cost_msat"]) == (
        SHOP,
        300_000_000,
        21_000,
    )
    table = await cli("rebalance", "history")
    assert table.code == 0 and "Did it pay for itself?" in table.stdout
    shown = await cli("rebalance", "plan")
    assert shown.code == 0 and "Rebalancing plan (dry run)" in shown.stdout, shown.stderr


async def test_what_goes_wrong_says_so_with_its_exit_code(cli: Cli) -> None:
    assert (await cli("collect", "--once")).code == 0
    unknown = await cli("rebalance", "run", "--channel", "800000x9x0")
    assert unknown.code == 2 and "no open channel" in unknown.stderr
    malformed = await cli("rebalance", "run", "--channel", "eight")
    assert malformed.code == 2 and "BLOCKxTXxOUT" in malformed.stderr
    (cli.workdir / "fees.toml").write_text(POLICY + "band_pct = 70\n")
    bad = await cli("rebalance", "plan")
    assert bad.code == 2
    assert "policy: " in bad.stderr and "rebalance.band_pct = 70" in bad.stderr
    (cli.workdir / "fees.toml").unlink()
    defaults = await cli("rebalance", "plan")
    assert "the [rebalance] defaults apply" in defaults.stderr, "markup ate the section name"
