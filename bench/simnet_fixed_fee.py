"""Which single fixed fee on all our channels earns most, per generated scenario (issue 13).

Why: the league found the sweep's top (5,000 ppm) the best fixed fee in 80-100% of its
scenarios, while one channel repriced alone (`simnet_elasticity.py`) has an optimum inside
the range. A test bed whose payers react to price puts the best fixed fee well below the
top. This bench measures that directly in simnet, without the lab's daemon loops (a fixed
fee decides nothing after it is set, so the loops would add time and no information):

- scenarios from the generator as the league makes them (`first_busy_scenario`, graph `g`
  drawn with seeds from `100 g`, the other shapes carved around the same center);
- each scenario runs `--warmup-days` at its own starting fee, then every channel of ours is
  set to one fee of `--sweep` and the run goes on for `--days`; what our node earned after
  the switch is the figure, per fee;
- `--shortcut` generates with shortcuts allowed (what the generator did before);
- `--shop-way-out` gives shops that are our peers a funded channel of their own
  (`new_scenario(shop_way_out=True)`; docs/simnet.md, "Shops with a way out").

Prints per case `<case>_fee<ppm>_fees_sat`, `<case>_fee<ppm>_forwards`, `<case>_best_fixed_fee_ppm`
and the share of what the best fee earned from payments above 268k sat; then, over cases,
`sweep_best_fixed_fee_ppm` (median; the league's `league_best_fixed_fee_ppm`) and
`sweep_ceiling_share` (share of cases whose best is the sweep's top; the league's
`league_ceiling_share`). Skips (exit 0) when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lnpilot.simnet.generate import busy_scenario_files
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SHAPES = ("balanced", "sink", "source", "lsp", "bursty")
SWEEP_PPM = (50, 150, 500, 1500, 5000)
#: Payments above this share one coarse route tree in simnet's cache before this bench's
#: change; the bench reports how much of the best fee's income came from them.
LARGE_MSAT = 268_000_000


@dataclass(frozen=True, slots=True)
class Job:
    case: str
    path: Path
    fee_ppm: int
    warmup_days: float
    days: float


@dataclass(frozen=True, slots=True)
class Result:
    case: str
    fee_ppm: int
    fees_msat: int
    forwards: int
    large_fees_msat: int


def run(job: Job) -> Result:
    """One case at one fixed fee: warm up at the scenario's fees, switch, measure."""
    sim = Simulation(load_scenario(job.path))
    sim.run_for(job.warmup_days * 86_400)
    before = len(sim.our_node.forwards)
    ours = sim.our_node.pubkey
    for view in sim.our_node.channels():
        sim.network.update_policy(view.chan_id, ours, fee_rate_ppm=job.fee_ppm, base_fee_msat=0)
    sim.run_for(job.days * 86_400)
    after = sim.our_node.forwards[before:]
    return Result(
        job.case,
        job.fee_ppm,
        sum(f.fee_msat for f in after),
        len(after),
        sum(f.fee_msat for f in after if f.amt_out_msat > LARGE_MSAT),
    )


def make_cases(
    out: Path,
    graph: Path,
    graphs: int,
    shapes: tuple[str, ...],
    nodes: int,
    shortcut: bool,
    shop_way_out: bool = False,
) -> list[tuple[str, Path]]:
    """Scenario files as the league makes them (kept in `out`; made once)."""
    files = busy_scenario_files(
        out,
        graph,
        graphs=graphs,
        shapes=shapes,
        nodes=nodes,
        shortcut=shortcut,
        shop_way_out=shop_way_out,
        on_skip=lambda path, exc: print(f"skipped={path.stem} reason={exc}"),
    )
    return [(path.stem, path) for _, path in files]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", type=Path, default=DATA / "ln_graph_full_2026-02-03.json.gz")
    parser.add_argument("--graphs", type=int, default=2, help="carved graphs")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="demand shapes")
    parser.add_argument("--nodes", type=int, default=60, help="nodes of each carved graph")
    parser.add_argument("--warmup-days", type=float, default=1.0, help="days at starting fees")
    parser.add_argument("--days", type=float, default=2.0, help="measured days per fee")
    parser.add_argument("--sweep", default=",".join(map(str, SWEEP_PPM)), help="fees, ppm")
    parser.add_argument("--shortcut", action="store_true", help="generate with shortcuts")
    parser.add_argument(
        "--shop-way-out", action="store_true", help="shops that are our peers get a way out"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "lnpilot-fixed-fee"
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    args = parser.parse_args()
    if not args.graph.exists():
        print(f"skipped: {args.graph} not present (the graphs of ../shared/data are needed)")
        return 0
    sweep = tuple(sorted(int(x) for x in args.sweep.split(",")))
    shapes = tuple(s for s in args.shapes.split(",") if s)
    started = time.perf_counter()
    cases = make_cases(
        args.out, args.graph, args.graphs, shapes, args.nodes, args.shortcut, args.shop_way_out
    )
    jobs = [Job(c, p, fee, args.warmup_days, args.days) for c, p in cases for fee in sweep]
    results: list[Result] = []
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        for r in pool.imap_unordered(run, jobs):  # as they come: a long run shows progress
            print(f"done={r.case}@{r.fee_ppm} fees_sat={r.fees_msat / 1000:.0f}", flush=True)
            results.append(r)
    results.sort(key=lambda r: r.fee_ppm)
    best_fees: list[int] = []
    for case, _ in cases:
        mine = [r for r in results if r.case == case]
        for r in mine:
            print(f"{case}_fee{r.fee_ppm}_fees_sat={r.fees_msat / 1000:.0f}")
            print(f"{case}_fee{r.fee_ppm}_forwards={r.forwards}")
        best = max(mine, key=lambda r: (r.fees_msat, -r.fee_ppm))
        best_fees.append(best.fee_ppm)
        print(f"{case}_best_fixed_fee_ppm={best.fee_ppm}")
        share = best.large_fees_msat / best.fees_msat if best.fees_msat else 0.0
        print(f"{case}_best_share_from_over_268k_sat={share:.2f}")
    if best_fees:
        print(f"sweep_cases={len(best_fees)}")
        print(f"sweep_best_fixed_fee_ppm={statistics.median(best_fees):g}")
        ceiling = sum(1 for f in best_fees if f == sweep[-1]) / len(best_fees)
        print(f"sweep_ceiling_share={ceiling:.2f}")
    print(f"sweep_fees_ppm={','.join(map(str, sweep))}")
    print(
        f"warmup_days={args.warmup_days:g} days={args.days:g} shortcut={int(args.shortcut)}"
        f" shop_way_out={int(args.shop_way_out)}"
    )
    print(f"elapsed_s={time.perf_counter() - started:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
