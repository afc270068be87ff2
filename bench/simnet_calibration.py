"""simnet's payment figures, to hold against published mainnet figures (docs/simnet.md).

Why: a test bed is only as good as its likeness to the network (issue 13). This bench runs
generated scenarios (`lsp` demand, the mainnet shape, on the 500-node core and on the full
graph) with the calibrated payers, and, as the reference in the same run, the snapshot
scenario the benchmarks used before (`snapshot_scenario`) with LND-only payers. For each it
prints: success rate overall and by amount, attempts per payment, channels per route and the
share of direct payments, the effective fee in ppm and the share of payments that paid no
fee, and our node's forwards.

Prints `name=value` lines. Skips (exit 0, with a message) when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lnpilot.simnet.generate import new_scenario
from lnpilot.simnet.network import AttemptStatus
from lnpilot.simnet.payments import PaymentOutcome
from lnpilot.simnet.scenario import Scenario, snapshot_scenario
from lnpilot.simnet.simulation import Simulation

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
#: Amount classes (upper bounds in sat) for the success rate by amount.
AMOUNT_CLASSES_SAT = (1_000, 10_000, 100_000, 1_000_000)


@dataclass
class Tally:
    """Per-payment facts of one run, kept only as small lists of numbers."""

    by_class: dict[str, list[int]] = field(default_factory=dict)  # class -> [ok, total]
    attempts: list[int] = field(default_factory=list)
    channels: list[int] = field(default_factory=list)
    fee_ppm: list[float] = field(default_factory=list)

    def record(self, source: str, dest: str, amt_msat: int, outcome: PaymentOutcome) -> None:
        del source, dest
        sat = amt_msat // 1000
        label = next((f"le{c}" for c in AMOUNT_CLASSES_SAT if sat <= c), "gt1000000")
        counts = self.by_class.setdefault(label, [0, 0])
        counts[1] += 1
        self.attempts.append(len(outcome.attempts))
        route = outcome.route
        if outcome.status is AttemptStatus.FAILED or route is None:
            return
        counts[0] += 1
        self.channels.append(len(route.channels))
        self.fee_ppm.append(route.total_fees_msat * 1e6 / amt_msat)


def measure(label: str, scenario: Scenario, days: float) -> None:
    sim = Simulation(scenario)
    tally = Tally()
    sim.payer.payment_listeners.append(tally.record)
    sim.run_for(days * 86_400)
    ok = len(tally.channels)
    total = len(tally.attempts)
    print(f"{label}_payments={total}")
    print(f"{label}_success_rate={ok / total:.3f}")
    for cls in [f"le{c}" for c in AMOUNT_CLASSES_SAT] + ["gt1000000"]:
        done, count = tally.by_class.get(cls, [0, 0])
        if count:
            print(f"{label}_success_rate_{cls}_sat={done / count:.3f} (n={count})")
    attempts = sorted(tally.attempts)
    print(f"{label}_attempts_mean={statistics.fmean(attempts):.2f}")
    print(f"{label}_attempts_p90={attempts[int(len(attempts) * 0.9)]}")
    print(f"{label}_attempts_max={attempts[-1]}")
    if ok:
        print(f"{label}_route_channels_median={statistics.median(tally.channels):g}")
        print(f"{label}_direct_share={tally.channels.count(1) / ok:.3f}")
        print(f"{label}_fee_ppm_median={statistics.median(tally.fee_ppm):.0f}")
        print(f"{label}_fee_ppm_p90={sorted(tally.fee_ppm)[int(ok * 0.9)]:.0f}")
        print(f"{label}_zero_fee_share={sum(1 for f in tally.fee_ppm if f == 0) / ok:.3f}")
    print(f"{label}_our_forwards={len(sim.our_node.forwards)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=1.0, help="virtual days per scenario")
    parser.add_argument("--nodes", type=int, default=250, help="nodes carved per scenario")
    parser.add_argument(
        "--balances", default="centred", help="balance split of the carved channels"
    )
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} not present (the graphs of ../shared/data are needed)")
        return 0
    started = time.perf_counter()
    for label, graph in (
        ("core_lsp", "ln_graph_500.json.gz"),
        ("full_lsp", "ln_graph_full_2026-02-03.json.gz"),
    ):
        made = new_scenario(
            DATA / graph, random_center=True, nodes=args.nodes, our_channels=6, demand="lsp",
            seed=1, balances=args.balances,
        )  # fmt: skip
        measure(label, made.scenario, args.days)
    before = snapshot_scenario(DATA / "ln_graph_500.json.gz", seed=1)
    demand = before.demand.model_copy(update={"sender_mix": {"lnd": 1.0}})
    measure("ref_snapshot_lnd_only", before.model_copy(update={"demand": demand}), args.days)
    print(f"days_per_scenario={args.days:g}")
    print(f"balances={args.balances}")
    print(f"elapsed_s={time.perf_counter() - started:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
