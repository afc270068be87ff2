"""``lnpilot backtest`` end to end on a simulated node whose store the real collector filled.

The fee drain scenario's node runs two days with the collector only (through the lab, so
the production ``LndRest`` backend and collector write the store), then is backtested as an
operator's node would be: read through the backend, its history fitted from the store. The
fit must reproduce the recorded days, a candidate identical to the current policy must show
no difference (the same seeds give the same runs), and a candidate that prices every
channel far higher must be judged apart from it, with its first decisions and reasons.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from lnpilot.backtest import Options, Report, backtest, parse_arm
from lnpilot.backtest.demand import FittedDemand, Recorded
from lnpilot.backtest.model import NodeState
from lnpilot.backtest.run import fit_node
from lnpilot.backtest.scenario import ASSUMED_PER_HOUR_PER_PAIR, build
from lnpilot.base.domain import Channel
from lnpilot.lab import Lab
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation

pytestmark = pytest.mark.slow

HISTORY_DAYS = 2
CURRENT = '[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 150\n'
DEARER = (
    "[safety]\nmax_step_floor_ppm = 100_000\n"
    '[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 3000\n'
)
OPTIONS = Options(days=1, seeds=(0, 1), warmup_days=0.5, max_nodes=60)


@dataclass
class Runs:
    sim: Simulation
    stored_forwards: int
    same: Report
    dearer: Report
    saved: Path
    recorded_forwards_again: int
    channels_now: list[Channel]


async def _runs(tmp: Path) -> Runs:
    sim = Simulation(load_scenario(Path("fee_drain.toml")))
    (tmp / "store").mkdir()
    async with Lab(sim, tmp / "store", None) as lab:
        await lab.run_for(HISTORY_DAYS * 86_400, loops=("collect",))
        await lab.run_for(1, loops=("collect",))  # the last hour's forwards, stored
        now = sim.network.now()
        async with lab.store.read() as reader:
            node_id = await reader.node_id(sim.our_node.pubkey)
            assert node_id is not None
            stored = len(await reader.forwards(node_id, sim.network.config.start, now))
        current, dearer = parse_arm(CURRENT, "current"), parse_arm(DEARER, "dearer")
        saved = tmp / "model.toml"
        same = await backtest(
            lab.node, lab.store, current, current, now=now, options=OPTIONS, save=saved
        )
        other = await backtest(lab.node, lab.store, current, dearer, now=now, options=OPTIONS)
        again = await fit_node(lab.node, lab.store, now=now, options=OPTIONS)
        channels = await lab.node.get_policies(await lab.node.list_channels())
    return Runs(sim, stored, same, other, saved, again.demand.recorded.forwards, channels)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return asyncio.run(_runs(tmp_path_factory.mktemp("backtest")))


def test_the_history_is_what_the_collector_stored(runs: Runs) -> None:
    assert runs.stored_forwards == len(runs.sim.our_node.forwards) > 0
    # --days 1: the fit reads the last day of it.
    assert 0 < runs.same.fit.recorded.forwards < runs.stored_forwards
    assert runs.same.fit.recorded.hours == pytest.approx(24.0)
    assert runs.same.gaps == ()  # LND REST reads policies and the graph


def test_the_fit_reproduces_the_recorded_day(runs: Runs) -> None:
    fit = runs.same.fit
    assert fit.forwards_ratio is not None and fit.fees_ratio is not None
    # Calibrated on seed 0 to 5%; the other seed and the fees within a third.
    assert 0.95 <= fit.replay_forwards[0] / fit.recorded.forwards <= 1.05 or fit.rate_scale != 1
    assert 0.67 <= fit.forwards_ratio <= 1.5
    assert 0.67 <= fit.fees_ratio <= 1.5


def test_an_identical_candidate_shows_no_difference(runs: Runs) -> None:
    same = runs.same
    assert same.current.figures == same.candidate.figures
    assert same.current.channel_fees_msat == same.candidate.channel_fees_msat
    assert same.verdict.outcome == "identical"
    assert runs.recorded_forwards_again == same.fit.recorded.forwards


def test_a_dearer_candidate_is_told_apart_with_its_reasons(runs: Runs) -> None:
    report = runs.dearer
    assert report.verdict.outcome != "identical"
    assert report.current.figures == runs.same.current.figures  # the same seeds, again
    # Per channel, by the node's real short channel ids.
    scids = {v.scid for v in runs.sim.our_node.channels()}
    assert set(report.candidate.channel_fees_msat) == scids
    first = report.decisions[0]
    assert first.action == "update" and first.new_fee_rate_ppm == 3000
    assert "static" in first.reason


def test_the_saved_model_is_a_scenario_simnet_runs(runs: Runs) -> None:
    sim = Simulation(load_scenario(runs.saved))
    ours = {v.scid for v in sim.our_node.channels()}
    assert ours == {v.scid for v in runs.sim.our_node.channels()}
    sim.run_for(3600)
    assert sim.payer.stats.payments > 0


def test_without_graph_or_history_it_says_what_it_assumed(runs: Runs) -> None:
    """What an LNbits-only node gives (no graph, no forwarding history): the model keeps our
    peers only and assumes a flat demand between them, and says both."""
    views = runs.sim.our_node.channels()
    peers = sorted({v.remote_pubkey for v in views})
    state = NodeState(
        pubkey=runs.sim.our_node.pubkey,
        alias="lnbits-only",
        block_height=800_000,
        channels=tuple(runs.channels_now),
        graph=None,
        gaps=("no graph",),
    )
    at = runs.sim.network.now()
    empty = FittedDemand((), Recorded(at, at, 0, 0, 0, 0))
    built = build(state, empty, start=at, hours=24, max_nodes=60)
    assert built.graph_channels == 0
    assert len(built.pairs) == len(peers) * (len(peers) - 1)
    assert {p.per_hour for p in built.pairs} == {ASSUMED_PER_HOUR_PER_PAIR}
    assert built.gaps[0] == "no graph"
    assert "no forward of the node in the history window" in built.gaps[1]
    Simulation(built.scenario).run_for(3600)  # and it runs
