"""``lnpilot close advise | plan | run | plans`` as separate processes against the simulated
node's LND face: dry run by default, bad input named, the procedure run to its end."""

from __future__ import annotations

from datetime import timedelta

from .conftest import Cli

DAVE = "800000x3x0"


async def test_advise_plan_dry_run_apply_and_journal(cli: Cli) -> None:
    sim = cli.sim
    sim.traffic(2, every=timedelta(seconds=1))
    assert (await cli("collect", "--once")).code == 0

    advice = (await cli("close", "advise", "--json")).json()
    assert {a["scid"] for a in advice} == set(sim.chans)
    assert {a["verdict"] for a in advice} == {"keep"}  # all watched for minutes only
    dave = next(a for a in advice if a["scid"] == DAVE)
    assert any(r.startswith("young: watched 0 days") for r in dave["reasons"])
    assert dave["close_cost_sat"] == 10 * 170
    shown = await cli("close", "advise", "--fee-rate", "2")
    assert shown.code == 0 and "6 channels: 0 to close, 6 to keep" in shown.stdout
    assert "closing costs about 340 sat on chain (2 sat/vB, given)" in shown.stdout
    estimated = "closing costs about 1,700 sat on chain (10 sat/vB, the node's estimate for 6"
    assert any(r.startswith(estimated) for r in dave["reasons"])

    bad = await cli("close", "plan", DAVE, "--fee-rate", "5000")
    assert bad.code == 2 and "out of range: give 1 to 1000" in bad.stderr
    unknown = await cli("close", "plan", "800000x9x9")
    assert unknown.code == 2 and "no open channel 800000x9x9" in unknown.stderr

    plan = (await cli("close", "plan", DAVE, "--fee-rate", "4", "--by", "ops", "--json")).json()
    assert (plan["state"], plan["next_step"], plan["created_by"]) == ("planned", "disable", "ops")
    dry = (await cli("close", "run", str(plan["id"]), "--by", "ops", "--json")).json()
    assert [s["outcome"] for s in dry] == ["dry_run"]
    assert sim.chans[DAVE].state.value == "open"

    done = await cli("close", "run", str(plan["id"]), "--apply", "--by", "ops")
    assert done.code == 0, done.stderr
    for words in ("disable: done [ops]", "settle: done", "close: done", "cleanup: done"):
        assert words in done.stdout
    listed = (await cli("close", "plans", "--json")).json()
    assert listed[0]["state"] == "done"
    assert [s["step"] for s in listed[0]["journal"]] == [
        "plan",
        "disable",
        "disable",
        "settle",
        "close",
        "cleanup",
    ]
    sim.mine()
    assert (await cli("collect", "--once")).code == 0
    closed = (await cli("channel", DAVE, "--json")).json()
    assert (
        closed["view"]["record"]["closed_seen_at"]
        and closed["view"]["accounting"]["onchain_fee_sat"] == 680
    )
    assert [s["outcome"] for s in closed["journal"]][-1] == "done"
