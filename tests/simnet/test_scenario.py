"""Scenario files: shipped ones load and run; mistakes are named; runs are deterministic."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from lnpilot.simnet.scenario import SCENARIO_DIR, ScenarioError, load_scenario, parse_scenario
from lnpilot.simnet.simulation import Simulation
from lnpilot.simnet.summary import summarize

MINIMAL = """
[simulation]
our_node = "ours"

[[nodes]]
name = "ours"

[[nodes]]
name = "peer"

[[channels]]
a = "ours"
b = "peer"
capacity_sat = 1_000_000
"""


@pytest.mark.parametrize("name", sorted(p.name for p in SCENARIO_DIR.glob("*.toml")))
def test_shipped_scenarios_run(name: str) -> None:
    sim = Simulation(load_scenario(Path(name)))
    sim.run_for(3600)
    summary = summarize(sim)
    assert summary["our_node"]["channels"] >= 1
    assert summary["block_height"] > 800_000


def test_unknown_key_is_named() -> None:
    bad = MINIMAL.replace("capacity_sat = 1_000_000", "capacity = 1_000_000")
    with pytest.raises(ScenarioError) as info:
        parse_scenario(bad, "bad.toml")
    message = str(info.value)
    assert "bad.toml" in message
    assert "channels[0].capacity: unknown key" in message
    assert "channels[0].capacity_sat: Field required" in message


def test_bad_value_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"nodes\[1\]\.uptime"):
        parse_scenario(MINIMAL.replace('name = "peer"', 'name = "peer"\nuptime = 1.5'))


def test_unknown_node_reference_is_named() -> None:
    scenario = parse_scenario(MINIMAL.replace('b = "peer"', 'b = "nobody"'))
    with pytest.raises(ScenarioError, match=r"channels\[0\]\.b: no node named 'nobody'"):
        Simulation(scenario)


def test_same_seed_same_event_log_and_other_seed_differs() -> None:
    scenario = load_scenario(Path("demo.toml"))
    hashes = []
    for seed in (7, 7, 8):
        sim = Simulation(scenario, seed=seed)
        sim.run_for(6 * 3600)
        hashes.append(sim.event_log_hash())
    assert hashes[0] == hashes[1]
    assert hashes[0] != hashes[2]


def test_auto_pay_pays_our_invoices() -> None:
    sim = Simulation(load_scenario(Path("demo.toml")))
    invoice = sim.our_node.add_invoice(50_000_000, "auto")
    sim.run_for(10)
    assert sim.our_node.lookup_invoice(invoice.payment_hash).state.value == "SETTLED"


async def test_realtime_mode_paces_virtual_time() -> None:
    """Virtual time moves on by itself, and never faster than ``speed`` times the wall clock:
    told by what the clock reached, not by how much a sleep let it do (no machine speed)."""
    sim = Simulation(load_scenario(Path("triangle.toml")))
    stop = asyncio.Event()
    speed, target_s = 3600.0, 900.0
    wall_started = time.monotonic()
    runner = asyncio.create_task(sim.run_realtime(speed=speed, stop=stop))
    while sim.network.now_ns < target_s * 1e9:  # the clock has no event to wait on
        assert not runner.done(), "the pacing loop ended by itself"
        await asyncio.sleep(0.01)
    stop.set()
    await runner
    wall_s = time.monotonic() - wall_started
    assert target_s <= sim.network.now_ns / 1e9 <= speed * wall_s


def test_dynamics_move_the_network_but_not_our_node() -> None:
    sim = Simulation(load_scenario(Path("demo.toml")))
    ours_before = {v.chan_id: v.local_policy.fee_rate_ppm for v in sim.our_node.channels()}
    sim.run_for(24 * 3600)
    counts = sim.network.log.counts
    assert counts["block"] > 100 and counts["feerate"] == 24
    assert counts["offline"] > 0 and counts["policy"] > 0
    assert counts["chan_pending"] > 0 and counts["chan_closed"] > 0
    ours_after = {v.chan_id: v.local_policy.fee_rate_ppm for v in sim.our_node.channels()}
    assert ours_after == ours_before


def test_payment_to_offline_destination_fails_without_attempt() -> None:
    sim = Simulation(load_scenario(Path("triangle.toml")))
    shop = sim.resolve("shop", "test")
    sim.network.set_online(shop, False)
    outcome = sim.payer.pay(sim.resolve("payer", "test"), shop, 1_000_000)
    assert outcome.attempts == []
    assert outcome.failure_reason.value == "FAILURE_REASON_NO_ROUTE"
