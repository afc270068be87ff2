"""Does rebalancing pay? The drain scenario for 30 virtual days, with and without it.

Why: a rebalancer is worth running only if the fees the moved liquidity earns exceed what
moving it cost, and only if it keeps channels in their bands. This runs the drain scenario
(``lnpilot/rebalance/drain_scenario.toml``: customers paying a shop through us drain our
side of our channel to the shop; fees never change) twice with the same seed: once with the
rebalancer in apply mode, once in dry-run mode (it plans and journals, nothing moves: the
reference). Both arms run the real pieces end to end, through our node's LND REST face: the
collector records every ``--step-hours``, then the rebalancer runs.

Figures come from the simulation itself, not from lnpilot's journal: fees earned are our
node's forwards, spending is the fees our node's payments paid. Prints ``name=value``:

- ``net_profit_gain_sat``: (fees earned − rebalancing spent) with, minus fees earned without;
- ``net_profit_ratio``: the same two, as a ratio (with over without);
- ``rebalance_cost_ratio``: spent over the fees earned on the moved liquidity (first in,
  first out: ``lnpilot.rebalance.attribute``); the target is at most 0.5;
- ``time_in_band_pct``: share of (channel, step) samples inside the channel's band, with
  the rebalancer, and ``*_without`` for the reference; ``shop_*`` for the drained channel.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import lnpilot.rebalance
from lnpilot.collect import Collector
from lnpilot.node import LndRest
from lnpilot.rebalance import RebalanceMode, Rebalancer, history, load_settings, parse_settings
from lnpilot.simnet.lnd_rest import serve
from lnpilot.simnet.records import PaymentStatus
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation
from lnpilot.store import Store, sqlite_url

DRAIN_SCENARIO = Path(lnpilot.rebalance.__file__).with_name("drain_scenario.toml")
MACAROON = "0201036c6e6402f801030a10" + "be" * 24
SHOP = "800000x1x0"


@dataclass
class Arm:
    fees_earned_msat: int = 0
    spent_msat: int = 0
    earned_on_moved_msat: int = 0
    moved_msat: int = 0
    rebalances: int = 0
    samples: int = 0
    in_band: int = 0
    shop_samples: int = 0
    shop_in_band: int = 0
    run_s: float = 0.0
    skips: dict[str, int] = field(default_factory=dict)


async def arm(
    mode: RebalanceMode, settings_text: str, seed: int | None, days: float, step_h: float
) -> Arm:
    sim = Simulation(load_scenario(DRAIN_SCENARIO), seed=seed)
    lock = threading.RLock()
    face = serve(sim.our_node, MACAROON, lock=lock)
    settings = parse_settings(settings_text)
    result = Arm()
    started = time.perf_counter()
    start_ns = sim.network.now_ns
    try:
        with tempfile.TemporaryDirectory() as data:
            async with (
                LndRest(face.url, MACAROON) as lnd,
                await Store.open(sqlite_url(Path(data))) as store,
            ):
                collector = Collector(lnd, store, clock=sim.network.now)
                rebalancer = Rebalancer(lnd, store, settings, clock=sim.network.now)
                start = sim.network.now()
                for _ in range(round(days * 24 / step_h)):
                    with lock:
                        sim.run_for(step_h * 3600)
                    await collector.cycle()
                    report = await rebalancer.run(mode, trigger="auto")
                    for d in report.plan.decisions:
                        inside = d.band is not None and (
                            d.band.low_permille <= (d.ratio_permille or 0) <= d.band.high_permille
                        )
                        result.samples += 1
                        result.in_band += inside
                        if d.channel.scid == SHOP:
                            result.shop_samples += 1
                            result.shop_in_band += inside
                        if d.action.value == "skip":
                            key = d.reason.split(";")[0].split(" (")[0]
                            result.skips[key] = result.skips.get(key, 0) + 1
                    result.rebalances += sum(e.execution.moved_msat > 0 for e in report.executed)
                node_id = report.node_id
                found = await history(store, node_id, start, sim.network.now() + timedelta(1))
                result.earned_on_moved_msat = found.earned_msat
                result.moved_msat = sum(a.bought_msat for a in found.channels.values())
    finally:
        face.stop()
    result.fees_earned_msat = sum(
        f.fee_msat for f in sim.our_node.forwards if f.timestamp_ns > start_ns
    )
    result.spent_msat = sum(
        p.fee_msat for p in sim.our_node.payments.values() if p.status is PaymentStatus.SUCCEEDED
    )
    result.run_s = time.perf_counter() - started
    return result


def report(name: str, result: Arm) -> None:
    print(f"{name}_fees_earned_sat={result.fees_earned_msat / 1000:.0f}")
    print(f"{name}_rebalancing_spent_sat={result.spent_msat / 1000:.0f}")
    print(f"{name}_rebalances={result.rebalances}")
    print(f"{name}_moved_sat={result.moved_msat // 1000}")
    print(f"{name}_time_in_band_pct={100 * result.in_band / result.samples:.1f}")
    print(f"{name}_shop_time_in_band_pct={100 * result.shop_in_band / result.shop_samples:.1f}")
    for reason, count in sorted(result.skips.items()):
        print(f"{name}_skipped[{reason}]={count}")
    print(f"{name}_run_s={result.run_s:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--step-hours", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=None, help="default: the scenario's")
    parser.add_argument("--policy", type=Path, help="a policy file with a [rebalance] part")
    args = parser.parse_args()
    text = args.policy.read_text() if args.policy else ""
    if args.policy:
        load_settings(args.policy)  # fail early, naming the problems
    print(f"scenario={DRAIN_SCENARIO.name} days={args.days:g} step_hours={args.step_hours:g}")
    without = asyncio.run(arm(RebalanceMode.DRY_RUN, text, args.seed, args.days, args.step_hours))
    report("without", without)
    with_ = asyncio.run(arm(RebalanceMode.APPLY, text, args.seed, args.days, args.step_hours))
    report("with", with_)
    net_with = with_.fees_earned_msat - with_.spent_msat
    net_without = without.fees_earned_msat
    print(f"net_profit_gain_sat={(net_with - net_without) / 1000:.0f}")
    print(f"net_profit_ratio={net_with / net_without:.2f}")
    cost_ratio = with_.spent_msat / with_.earned_on_moved_msat if with_.earned_on_moved_msat else 0
    print(f"rebalance_cost_ratio={cost_ratio:.3f}")
    print(f"time_in_band_pct={100 * with_.in_band / with_.samples:.1f}")
    print(f"time_in_band_pct_without={100 * without.in_band / without.samples:.1f}")


if __name__ == "__main__":
    main()
