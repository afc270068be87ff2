"""How much traffic a channel of ours loses when its fee rises: a price sweep in simnet.

Why: no fee strategy can be judged on a network whose payers ignore price (issue 13: with
LND-only payers the best fixed fee was the sweep's ceiling in 16 of 18 scenarios). This
bench generates scenarios (`simnet.generate.new_scenario`), picks our busiest channel at the
starting fee, and re-runs the same scenario and seed with only that channel's fee changed,
over a sweep of fees. It does so twice in the same run:

- `mixed`: the calibrated payers (the scenario's `sender_mix`: LND, Core Lightning, LDK);
- `lnd_only`: every payer LND, the reference (what simnet had before).

Figures, per scenario and payer mix (`<scenario>_<mix>_...`), then medians over scenarios:
forwards and fees earned at each fee, `best_fee_ppm` (the fee that earned most on the
channel), `kept_2500_vs_100` (share of the volume at 100 ppm still carried at 2,500 ppm) and
`arc_elasticity_250_1000` (relative change of forwarded volume over relative change of the
fee, midpoint formula, between 250 and 1,000 ppm). A payer population that reacts to price
has an elasticity well below 0 and a best fee inside the sweep.

Prints `name=value` lines. Skips (exit 0, with a message) when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lnpilot.simnet.generate import IdleScenarioError, first_busy_scenario
from lnpilot.simnet.scenario import Scenario
from lnpilot.simnet.simulation import Simulation

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
FEES_PPM = (0, 50, 100, 250, 500, 1000, 2500, 5000)
QUICK_FEES_PPM = (100, 250, 1000, 2500)
MIXES = {"mixed": None, "lnd_only": {"lnd": 1.0}}
#: (label, graph file, demand family, carved nodes, first seed)
SCENARIOS = (
    ("core_sink", "ln_graph_500.json.gz", "sink", 200, 3),
    ("core_lsp", "ln_graph_500.json.gz", "lsp", 200, 1),
    ("full_balanced", "ln_graph_full_2026-02-03.json.gz", "balanced", 250, 2),
)


@dataclass(frozen=True, slots=True)
class Point:
    fee_ppm: int
    forwards: int
    volume_msat: int
    fees_msat: int


def _with_mix(scenario: Scenario, mix: dict[str, float] | None) -> Scenario:
    if mix is None:
        return scenario
    demand = scenario.demand.model_copy(update={"sender_mix": mix})
    return scenario.model_copy(update={"demand": demand})


def _run(scenario: Scenario, peer: str | None, fee_ppm: int | None, days: float) -> Simulation:
    """Run with our channel to `peer` at `fee_ppm` (others as the scenario has them)."""
    sim = Simulation(scenario)
    if peer is not None and fee_ppm is not None:
        ours = sim.our_node.pubkey
        for view in sim.our_node.channels():
            if view.remote_pubkey == peer:
                sim.network.update_policy(view.chan_id, ours, fee_rate_ppm=fee_ppm, base_fee_msat=0)
    sim.run_for(days * 86_400)
    return sim


def _busiest_peer(sim: Simulation) -> tuple[str, int]:
    """The peer of the channel that forwarded most out, and that channel's id."""
    counts: dict[int, int] = {}
    for forward in sim.our_node.forwards:
        counts[forward.chan_id_out] = counts.get(forward.chan_id_out, 0) + 1
    chan_id = max(sorted(counts), key=lambda c: counts[c])
    view = next(v for v in sim.our_node.channels() if v.chan_id == chan_id)
    return view.remote_pubkey, chan_id


def _sweep(
    scenario: Scenario, peer: str, chan_id: int, fees: tuple[int, ...], days: float
) -> list[Point]:
    points = []
    for fee_ppm in fees:
        sim = _run(scenario, peer, fee_ppm, days)
        out = [f for f in sim.our_node.forwards if f.chan_id_out == chan_id]
        points.append(
            Point(
                fee_ppm,
                len(out),
                sum(f.amt_out_msat for f in out),
                sum(f.fee_msat for f in out),
            )
        )
    return points


def _arc(points: list[Point], low: int, high: int) -> float | None:
    by_fee = {p.fee_ppm: p.volume_msat for p in points}
    if low not in by_fee or high not in by_fee or by_fee[low] + by_fee[high] == 0:
        return None
    v1, v2 = by_fee[low], by_fee[high]
    return ((v2 - v1) / ((v1 + v2) / 2)) / ((high - low) / ((high + low) / 2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=1.0, help="virtual days per run")
    parser.add_argument("--quick", action="store_true", help="one scenario, four fees")
    parser.add_argument(
        "--balances", default="centred", help="balance split of the carved channels"
    )
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} not present (the graphs of ../shared/data are needed)")
        return 0
    fees = QUICK_FEES_PPM if args.quick else FEES_PPM
    scenarios = SCENARIOS[:1] if args.quick else SCENARIOS
    started = time.perf_counter()
    summary: dict[str, dict[str, list[float]]] = {m: {} for m in MIXES}
    for label, graph, family, nodes, first_seed in scenarios:
        try:
            made = first_busy_scenario(
                DATA / graph,
                first_seed=first_seed,
                random_center=True,
                nodes=nodes,
                our_channels=6,
                demand=family,
                balances=args.balances,
            )
        except IdleScenarioError:
            print(f"{label}_skipped=idle in 5 seeds")
            continue
        baseline = _run(made.scenario, None, None, args.days)
        peer, chan_id = _busiest_peer(baseline)
        print(f"{label}_seed={made.scenario.simulation.seed}")
        print(f"{label}_baseline_our_forwards={len(baseline.our_node.forwards)}")
        for mix_name, mix in MIXES.items():
            points = _sweep(_with_mix(made.scenario, mix), peer, chan_id, fees, args.days)
            prefix = f"{label}_{mix_name}"
            for p in points:
                print(f"{prefix}_fee{p.fee_ppm}_forwards={p.forwards}")
                print(f"{prefix}_fee{p.fee_ppm}_fees_sat={p.fees_msat / 1000:.1f}")
            best = max(points, key=lambda p: (p.fees_msat, -p.fee_ppm))
            figures = {
                "best_fee_ppm": float(best.fee_ppm),
                "kept_2500_vs_100": _share(points, 2500, 100),
                "arc_elasticity_250_1000": _arc(points, 250, 1000),
            }
            for name, value in figures.items():
                if value is None:
                    continue
                print(f"{prefix}_{name}={value:.3f}")
                summary[mix_name].setdefault(name, []).append(value)
    for mix_name, figures in summary.items():
        for name, values in figures.items():
            print(f"median_{mix_name}_{name}={statistics.median(values):.3f}")
    print(f"sweep_fees_ppm={','.join(str(f) for f in fees)}")
    print(f"days_per_run={args.days:g}")
    print(f"balances={args.balances}")
    print(f"elapsed_s={time.perf_counter() - started:.1f}")
    return 0


def _share(points: list[Point], high: int, low: int) -> float | None:
    by_fee = {p.fee_ppm: p.volume_msat for p in points}
    if high not in by_fee or not by_fee.get(low):
        return None
    return by_fee[high] / by_fee[low]


if __name__ == "__main__":
    sys.exit(main())
