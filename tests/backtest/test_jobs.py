"""Seeds in worker processes (``--jobs``) give the figures of seeds run one after another.

Each seed's runs depend on the seed alone, so spreading them over processes may change only
when they finish, never what they find: a tiny node (the fee drain scenario, half a day of
history) compared on two seeds with one job and with two must give equal reports.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lnpilot.backtest import Options, parse_arm
from lnpilot.backtest.run import Report, backtest_inputs, default_jobs, read_inputs
from lnpilot.lab import Lab
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation

pytestmark = pytest.mark.slow

CURRENT = '[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 150\n'
CANDIDATE = (
    "[safety]\nmax_step_floor_ppm = 100_000\n"
    '[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 3000\n'
)
OPTIONS = Options(days=0.25, seeds=(0, 1), warmup_days=0.25, max_nodes=30)


async def _reports(tmp: Path) -> tuple[Report, Report]:
    sim = Simulation(load_scenario(Path("fee_drain.toml")))
    async with Lab(sim, tmp, None) as lab:
        await lab.run_for(0.5 * 86_400, loops=("collect",))
        inputs = await read_inputs(lab.node, lab.store, now=sim.network.now(), options=OPTIONS)
    current, candidate = parse_arm(CURRENT, "current"), parse_arm(CANDIDATE, "candidate")
    one = await backtest_inputs(inputs, current, candidate, OPTIONS, jobs=1)
    two = await backtest_inputs(inputs, current, candidate, OPTIONS, jobs=2)
    return one, two


def test_two_jobs_give_the_figures_of_one(tmp_path: Path) -> None:
    one, two = asyncio.run(_reports(tmp_path))
    assert one.current.figures[0].forwards > 0  # something to compare
    assert one.candidate.figures != one.current.figures
    assert two == one


def test_default_jobs_is_one_per_seed_up_to_the_cpus() -> None:
    assert default_jobs(1) == 1
    assert 1 <= default_jobs(50) <= 50
