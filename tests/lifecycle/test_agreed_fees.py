"""Agreements that act: a channel opened through the lifecycle with agreed fees is priced by
the fee engine at those fees (pins from the stored agreement), the policy file's own pins win
over them, and an archived agreement pins nothing. On the simulated node through its LND
face and a real store, as the open procedure runs there."""

from __future__ import annotations

from lnpilot.base.domain import Channel
from lnpilot.fees.gather import gather
from lnpilot.fees.planner import Action, ChannelDecision, plan
from lnpilot.fees.policy import PolicyFile, parse_policy
from lnpilot.lifecycle.open import OpenTerms, plan_open, run_open
from lnpilot.store import Store, lifecycle

from .conftest import Api, Cli, Sim
from .test_open_suggest import _grow

#: Without the agreement every channel would be pushed toward 1 ppm.
STATIC = """
[[rule]]
name = "default"
strategy = "static"
static.fee_rate_ppm = 1
"""


async def _open_agreed(sim: Sim, store: Store, node_id: int, terms: OpenTerms) -> Channel:
    """Open a channel to a new peer with ``terms`` and run the procedure to its end."""
    hub = _grow(sim)["hub"]
    planned = await plan_open(
        sim.lnd, store, node_id, hub, 500_000, by="op", now=sim.now, terms=terms
    )
    assert planned.id is not None
    await run_open(sim.lnd, store, planned.id, by="op", clock=lambda: sim.now, apply=True)
    sim.mine(10)
    done = await run_open(sim.lnd, store, planned.id, by="op", clock=lambda: sim.now, apply=True)
    assert done.finished
    point = done.plan.result["channel_point"]
    [channel] = [c for c in await sim.lnd.list_channels() if c.channel_point == point]
    return channel


async def _decisions(sim: Sim, store: Store, policy: PolicyFile) -> dict[int, ChannelDecision]:
    """The fee plan as ``lnpilot fees plan`` makes it, by channel id."""
    gathered = await gather(sim.lnd, store, policy, sim.now)
    return {d.chan_id: d for d in plan(policy, gathered.inputs).decisions if d.chan_id}


async def test_agreed_fees_are_pins_and_the_policy_file_wins(sim: Sim, store: Store) -> None:
    node_id = (await sim.collector(store).cycle()).node_id
    terms = OpenTerms(fee_rate_ppm=250, base_fee_msat=0, cltv_delta=80, name="hub")
    channel = await _open_agreed(sim, store, node_id, terms)
    await sim.collector(store).cycle()  # the collector sees the new channel, as the daemon's

    decided = await _decisions(sim, store, parse_policy(STATIC))
    decision = decided[channel.chan_id]
    assert decision.action is Action.NONE
    assert "fee rate pinned at 250 by the agreement 'hub' #" in decision.reason
    assert "base fee pinned at 0 by the agreement 'hub'" in str(decision.detail["reasons"])
    agreed = decision.detail["agreed_fees"]
    assert isinstance(agreed, dict)
    assert (agreed["name"], agreed["fee_rate_ppm"], agreed["base_fee_msat"]) == ("hub", 250, 0)
    others = [d for d in decided.values() if d.chan_id != channel.chan_id]
    assert others and all(d.detail.get("agreed_fees") is None for d in others)

    pinned = parse_policy(STATIC + f'[channel."{channel.scid}"]\npin_fee_rate_ppm = 300\n')
    decision = (await _decisions(sim, store, pinned))[channel.chan_id]
    assert decision.proposal.fee_rate_ppm == 300
    assert decision.proposal.base_fee_msat is None  # still the agreement's 0: nothing to send
    assert "fee rate pinned at 300 by the policy file, over the agreement 'hub'" in decision.reason
    assert "(250)" in decision.reason

    async with store.transaction() as tx:  # what a close's clean-up does
        assert await lifecycle.archive_agreements(tx, node_id, channel.channel_point, sim.now) == 1
    decision = (await _decisions(sim, store, parse_policy(STATIC)))[channel.chan_id]
    assert decision.detail["agreed_fees"] is None
    assert "agreement" not in decision.reason
    assert decision.proposal.fee_rate_ppm is not None and decision.proposal.fee_rate_ppm < 250


async def test_the_channel_shows_its_agreement_in_the_cli_and_the_api(cli: Cli) -> None:
    hub = _grow(cli.sim)["hub"]
    assert (await cli("collect", "--once")).code == 0
    made = await cli(
        "open", "plan", hub, "--capacity-sat", "500000", "--fee-rate-ppm", "250",
        "--base-fee-msat", "0", "--name", "hub", "--contact", "ops@hub.example",
    )  # fmt: skip
    assert made.code == 0, made.stderr
    assert (await cli("open", "run", "1", "--apply")).code == 0
    cli.sim.mine(10)
    done = await cli("open", "run", "1", "--apply")
    assert "agreement: done" in done.stdout, done.stderr
    assert (await cli("collect", "--once")).code == 0
    [scid] = {
        c["channel"]["scid"] for c in (await cli("channels", "--json")).json()["channels"]
    } - set(cli.sim.chans)

    shown = await cli("channel", scid)
    assert shown.code == 0, shown.stderr
    line = "hub: fee_rate_ppm 250, base_fee_msat 0; contact ops@hub.example (live, since"
    assert line in shown.stdout
    read = (await cli("channel", scid, "--json")).json()["agreement"]
    assert (read["name"], read["terms"], read["archived_at"]) == (
        "hub",
        {"fee_rate_ppm": 250, "base_fee_msat": 0},
        None,
    )
    old = (await cli("channel", next(iter(cli.sim.chans)))).stdout
    assert "agreement" in old and "none stored by lnpilot" in old

    policy = cli.workdir / "fees.toml"
    policy.write_text(STATIC, encoding="utf-8")
    planned = await cli("fees", "plan", "--policy", str(policy), "--json")
    assert planned.code == 0, planned.stderr
    assert "fee rate pinned at 250 by the agreement 'hub' #1 made at open" in planned.stdout


async def test_the_api_channel_detail_carries_the_agreement(api: Api) -> None:
    node_id = (await api.sim.collector(api.store).cycle()).node_id
    terms = OpenTerms(fee_rate_ppm=250, name="hub", note="a year at 250 ppm")
    channel = await _open_agreed(api.sim, api.store, node_id, terms)
    await api.sim.collector(api.store).cycle()
    got = await api.http.get(f"/api/v1/channels/{channel.scid}", headers=api.auth())
    assert got.status_code == 200, got.text
    agreement = got.json()["agreement"]
    assert (agreement["name"], agreement["note"]) == ("hub", "a year at 250 ppm")
    assert agreement["terms"] == {"fee_rate_ppm": 250}
    other = next(iter(api.sim.chans))
    got = await api.http.get(f"/api/v1/channels/{other}", headers=api.auth())
    assert got.status_code == 200 and got.json()["agreement"] is None
