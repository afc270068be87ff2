"""Flows with sets of ends, a daily cycle and bursts."""

from __future__ import annotations

import pytest

from lnpilot.simnet.scenario import ScenarioError, parse_scenario
from lnpilot.simnet.simulation import Simulation

BASE = """
[simulation]
our_node = "ours"

[[nodes]]
name = "ours"
[[nodes]]
name = "a"
[[nodes]]
name = "b"
[[nodes]]
name = "shop"

[[channels]]
a = "a"
b = "ours"
capacity_sat = 100_000_000
a_balance_sat = 100_000_000
[[channels]]
a = "b"
b = "ours"
capacity_sat = 100_000_000
a_balance_sat = 100_000_000
[[channels]]
a = "ours"
b = "shop"
capacity_sat = 200_000_000
a_balance_sat = 200_000_000

[[flows]]
name = "shopping"
sources = ["a", "b"]
dests = ["shop"]
per_hour = 20
amount_median_sat = 1_000
amount_sigma = 0.1
{extra}

[dynamics]
fee_changes_per_node_per_day = 0
opens_per_day = 0
closes_per_day = 0
offline_mean_s = 0
"""


def _forward_hours(extra: str, days: int = 4) -> list[int]:
    sim = Simulation(parse_scenario(BASE.format(extra=extra)))
    sim.run_for(days * 86_400)
    return [f.timestamp_ns // 3_600_000_000_000 % 24 for f in sim.our_node.forwards]


def test_a_set_of_sources_all_pay() -> None:
    sim = Simulation(parse_scenario(BASE.format(extra="")))
    sim.run_for(6 * 3600)
    incoming = {f.chan_id_in for f in sim.our_node.forwards}
    assert len(incoming) == 2


def test_daily_cycle_puts_traffic_at_its_peak() -> None:
    hours = _forward_hours("daily_amplitude = 0.9\npeak_hour_utc = 19")
    evening = sum(1 for h in hours if 17 <= h <= 21)
    morning = sum(1 for h in hours if 5 <= h <= 9)
    assert evening > 4 * morning  # (1 + 0.9) / (1 - 0.9) = 19 at the extremes


def test_bursts_multiply_the_rate() -> None:
    steady = len(_forward_hours(""))
    bursty = len(_forward_hours("burst_every_h = 6\nburst_hours = 2\nburst_factor = 10"))
    assert bursty > 1.5 * steady


def test_source_and_sources_together_are_refused() -> None:
    with pytest.raises(ScenarioError, match="give source or sources, not both"):
        parse_scenario(BASE.format(extra='source = "a"'))
