"""The daemon's loops on the simulated network, in virtual time, through ``LndRest``.

The fee drain scenario: the shop's customers pay through us and drain our side of our
channel to it; "corner" is a peer almost nobody pays through. After two days in which only
the collector runs, six days of hourly collections and fee runs of the flow-adaptive
controller must raise the fee of the drained, demanded channel and lower the idle one's,
within bounds and the update budget; and what the store recorded through the production
backend must be what the simulated node did.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

from lnpilot.fees.policy import parse_policy
from lnpilot.lab import Figures, Lab
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation
from lnpilot.store import fee_journal
from lnpilot.store.fee_journal import FeeDecision

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
DAYS = 6


@dataclass
class Run:
    sim: Simulation
    lab: Lab
    figures: Figures
    decisions: dict[str, list[FeeDecision]]
    stored_forwards: int
    stored_liquidity_failures: int


def scid_of(sim: Simulation, name: str) -> str:
    peer = sim.resolve(name, "test")
    return next(v.scid for v in sim.our_node.channels() if v.remote_pubkey == peer)


async def _run(data_dir: Path) -> Run:
    sim = Simulation(load_scenario(Path("fee_drain.toml")))
    async with Lab(sim, data_dir, parse_policy(POLICY)) as lab:
        await lab.run_for(2 * 86_400, loops=("collect",))
        since = sim.network.now()
        await lab.run_for(DAYS * 86_400)
        await lab.run_for(1, loops=("collect",))  # the last hour's forwards, stored
        figures = await lab.figures(since)
        async with lab.store.read() as reader:
            node_id = await reader.node_id(sim.our_node.pubkey)
            assert node_id is not None
            decisions = {
                view.scid: list(
                    reversed(
                        await fee_journal.channel_decisions(
                            reader, node_id, view.chan_id, limit=10_000
                        )
                    )
                )
                for view in sim.our_node.channels()
            }
            start = sim.network.config.start
            forwards = await reader.forwards(node_id, start, sim.network.now())
            failed = await reader.failed_forwards(node_id, since, sim.network.now())
    liquidity = sum(1 for f in failed if f.for_lack_of_liquidity)
    return Run(sim, lab, figures, decisions, len(forwards), liquidity)


@pytest.fixture(scope="module")
def drained(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return asyncio.run(_run(tmp_path_factory.mktemp("lab")))


def test_the_drained_demanded_channel_gets_dearer(drained: Run) -> None:
    shop = scid_of(drained.sim, "shop")
    fees = [fee for _, fee, _ in drained.lab.samples[shop]]
    assert fees[0] > 100 and fees[-1] > 4 * 100
    assert "scarce" in {d.state for d in drained.decisions[shop]}


def test_the_idle_channel_gets_cheaper_and_keeps_getting_cheaper(drained: Run) -> None:
    corner = scid_of(drained.sim, "corner")
    fees = [fee for _, fee, _ in drained.lab.samples[corner]]
    assert fees[-1] < fees[0] < 100
    drops = [a - b for a, b in itertools.pairwise(fees) if a != b]
    assert all(drop > 0 for drop in drops)  # only ever down
    reasons = [d.reason for d in drained.decisions[corner]]
    assert any(r.startswith("flow_adaptive idle: no forward out in 1d") for r in reasons)


def test_bounds_interval_and_budget_hold_all_along(drained: Run) -> None:
    samples = drained.lab.samples.values()
    assert all(10 <= fee <= 2000 for series in samples for _, fee, _ in series)
    sent = [d for ds in drained.decisions.values() for d in ds if d.sent]
    assert drained.figures.policy_updates == len(sent)
    assert drained.figures.updates_per_channel_day <= 4  # min interval 6h


def test_the_store_holds_what_the_simulated_node_did(drained: Run) -> None:
    assert drained.stored_forwards == len(drained.sim.our_node.forwards)
    assert drained.figures.forwards > 0 and drained.figures.fees_earned_msat > 0
    # Failed forwards reach the store only through the HTLC event stream.
    assert drained.stored_liquidity_failures == drained.figures.liquidity_failures > 0
