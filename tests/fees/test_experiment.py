"""The strategies in the simulated network, in virtual time: do they do something sensible?

The drain scenario: the shop's customers pay through us and drain our side of our channel
to it; "corner" is a peer almost nobody pays through. After two days of warm-up history,
six days of hourly evaluations of the flow-adaptive controller must raise the fee of the
drained, demanded channel and lower the idle one's, within bounds and the update budget.
"""

from __future__ import annotations

import itertools

import pytest

from lnpilot.fees.experiment import DRAIN_SCENARIO, ExperimentOutcome, run
from lnpilot.fees.planner import Plan
from lnpilot.fees.policy import parse_policy
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation

POLICY = """
[safety]
daily_budget = 20

[[rule]]
name = "default"
strategy = "flow_adaptive"
min_fee_rate_ppm = 10
max_fee_rate_ppm = 2000
flow_adaptive = { window = "2d", idle_after = "1d", ramp = "1d" }
"""


def scid_of(sim: Simulation, name: str) -> str:
    peer = sim.resolve(name, "test")
    return next(v.scid for v in sim.our_node.channels() if v.remote_pubkey == peer)


@pytest.fixture(scope="module")
def drained() -> tuple[Simulation, ExperimentOutcome, list[Plan]]:
    sim = Simulation(load_scenario(DRAIN_SCENARIO))
    plans: list[Plan] = []
    outcome = run(sim, parse_policy(POLICY), days=6, warmup_days=2, on_plan=plans.append)
    return sim, outcome, plans


def test_the_drained_demanded_channel_gets_dearer(
    drained: tuple[Simulation, ExperimentOutcome, list[Plan]],
) -> None:
    sim, outcome, plans = drained
    shop = outcome.fee_series[scid_of(sim, "shop")]
    assert shop[0][1] > 100 and shop[-1][1] > 4 * 100
    states = {d.state for p in plans for d in p.decisions if d.scid == scid_of(sim, "shop")}
    assert "scarce" in states


def test_the_idle_channel_gets_cheaper_and_keeps_getting_cheaper(
    drained: tuple[Simulation, ExperimentOutcome, list[Plan]],
) -> None:
    sim, outcome, plans = drained
    corner = [fee for _, fee in outcome.fee_series[scid_of(sim, "corner")]]
    assert corner[-1] < corner[0] < 100
    drops = [a - b for a, b in itertools.pairwise(corner) if a != b]
    assert all(drop > 0 for drop in drops)  # only ever down
    reasons = [d.reason for p in plans for d in p.decisions if d.scid == scid_of(sim, "corner")]
    assert any(r.startswith("flow_adaptive idle: no forward out in 1d") for r in reasons)


def test_bounds_interval_and_budget_hold_all_along(
    drained: tuple[Simulation, ExperimentOutcome, list[Plan]],
) -> None:
    _, outcome, plans = drained
    assert all(10 <= fee <= 2000 for series in outcome.fee_series.values() for _, fee in series)
    per_day = [sum(len(p.updates) for p in plans[day * 24 : day * 24 + 24]) for day in range(6)]
    assert max(per_day) <= 20
    assert outcome.updates == sum(per_day)
    assert outcome.updates_per_channel_day <= 4  # min interval 6h
