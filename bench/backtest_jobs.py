"""How much ``lnpilot backtest --jobs`` gains: the seeds' runs in worker processes against
the same runs one after another, on the same fitted model.

Why: a backtest runs two policies over several seeds through the daemon's loops in virtual
time, minutes of CPU each; the seeds are independent, so they can use every CPU. The
reference is the sequential run of the same comparison in the same process and the same
run (``backtest_jobs1_s``); ``backtest_jobs_speedup`` is the ratio, at best the number of
jobs on an idle machine with as many CPUs. ``backtest_jobs_equal`` is 1 when both gave the
same report (they must: a seed's runs depend on the seed alone).

The model is the fee drain scenario's node after half a day of history recorded by the real
collector (through the lab), its current policy a static 150 ppm, the candidate 3,000 ppm.
Prints ``name=value`` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from lnpilot.backtest import Options, parse_arm
from lnpilot.backtest.run import compare, default_jobs, fit_inputs, read_inputs
from lnpilot.lab import Lab
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation

CURRENT = '[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 150\n'
CANDIDATE = (
    "[safety]\nmax_step_floor_ppm = 100_000\n"
    '[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 3000\n'
)


async def main(seeds: int, days: float, jobs: int) -> None:
    options = Options(days=days, seeds=tuple(range(seeds)), warmup_days=0.25, max_nodes=60)
    sim = Simulation(load_scenario(Path("fee_drain.toml")))
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        async with Lab(sim, Path(tmp), None) as lab:
            await lab.run_for(0.5 * 86_400, loops=("collect",))
            inputs = await read_inputs(lab.node, lab.store, now=sim.network.now(), options=options)
    built = fit_inputs(inputs, options).scenario
    current, candidate = parse_arm(CURRENT, "current"), parse_arm(CANDIDATE, "candidate")
    started = time.perf_counter()
    one = await compare(built, current, candidate, options, jobs=1)
    one_s = time.perf_counter() - started
    started = time.perf_counter()
    many = await compare(built, current, candidate, options, jobs=jobs)
    many_s = time.perf_counter() - started
    print(f"backtest_seeds={seeds}")
    print(f"backtest_jobs={jobs}")
    print(f"backtest_jobs1_s={one_s:.1f}")
    print(f"backtest_jobs{jobs}_s={many_s:.1f}")
    print(f"backtest_jobs_speedup={one_s / many_s:.2f}")
    print(f"backtest_jobs_equal={int(one == many)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--days", type=float, default=0.5)
    parser.add_argument("--jobs", type=int, default=None, help="default: one per seed and CPU")
    args = parser.parse_args()
    jobs = args.jobs if args.jobs is not None else default_jobs(args.seeds)
    asyncio.run(main(args.seeds, args.days, jobs))
