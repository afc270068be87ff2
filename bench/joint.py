"""Fees and rebalancing as one controller, against the same two run apart.

Why: a rebalancer that buys liquidity the fee engine then sells below its cost, or that
refills a channel whose liquidity hardly leaves, spends more than it earns. The joint arm
turns on the two halves that make them one controller: ``liquidity_margin_ppm`` (the fee
stays at what refills cost plus a margin) and ``[rebalance] payback_margin_pct`` (a refill
only when the target's fee on its recent outflow repays it). The separate arm is the same
policy file without them (the reference, measured in the same run, same seed).

Both arms run the daemon's collector, fee engine and rebalancer through the lab
(:mod:`lnpilot.lab`) on the drain scenario (``lnpilot/rebalance/drain_scenario.toml``), in
virtual time: a warm-up with the collector alone, then ``--days`` with all three. Figures
are the simulation's (fees our node earned) and the rebalance journal's (fees committed).

Prints ``name=value``: per arm ``*_fees_sat``, ``*_rebalance_cost_sat``, ``*_net_sat``,
``*_forwards``, ``*_liquidity_failures``, ``*_updates``, ``*_run_s``; then
``joint_vs_separate_ratio``: the joint arm's net profit over the separate arm's.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import lnpilot.rebalance
from lnpilot.fees.policy import PolicyFile, parse_policy
from lnpilot.lab import Figures, Intervals, Lab
from lnpilot.rebalance.settings import settings_from_policy
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation

DRAIN_SCENARIO = Path(lnpilot.rebalance.__file__).with_name("drain_scenario.toml")

SEPARATE = """
[[rule]]
name = "default"
strategy = "flow_adaptive"
min_fee_rate_ppm = 10
max_fee_rate_ppm = 2000

[rebalance]
min_amount_sat = 20_000
"""
#: The same file with the two joint settings (margins as a user might start from).
JOINT = SEPARATE.replace(
    'strategy = "flow_adaptive"\n', 'strategy = "flow_adaptive"\nliquidity_margin_ppm = 50\n'
).replace("[rebalance]\n", "[rebalance]\npayback_margin_pct = 25\n")


async def _measure(
    sim: Simulation, policy: PolicyFile, days: float, warmup: float, step_s: float
) -> Figures:
    rebalance = settings_from_policy(policy.rebalance, policy.groups, "<bench>")
    intervals = Intervals(step_s, step_s, step_s)
    with tempfile.TemporaryDirectory(prefix="lnpilot-joint-") as data_dir:
        async with Lab(sim, Path(data_dir), policy, rebalance, intervals=intervals) as lab:
            await lab.run_for(warmup * 86_400, loops=("collect",))
            since = sim.network.now()
            await lab.run_for(days * 86_400)
            return await lab.figures(since)


def arm(name: str, text: str, args: argparse.Namespace) -> Figures:
    sim = Simulation(load_scenario(args.scenario), seed=args.seed)
    started = time.perf_counter()
    figures = asyncio.run(
        _measure(sim, parse_policy(text), args.days, args.warmup_days, args.step_hours * 3600)
    )
    print(f"{name}_fees_sat={figures.fees_earned_msat / 1000:.0f}")
    print(f"{name}_rebalance_cost_sat={figures.rebalance_cost_msat / 1000:.0f}")
    print(f"{name}_net_sat={figures.net_profit_msat / 1000:.0f}")
    print(f"{name}_forwards={figures.forwards}")
    print(f"{name}_liquidity_failures={figures.liquidity_failures}")
    print(f"{name}_updates={figures.policy_updates}")
    print(f"{name}_run_s={time.perf_counter() - started:.1f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=14.0)
    parser.add_argument("--warmup-days", type=float, default=3.0)
    parser.add_argument("--step-hours", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None, help="default: the scenario's")
    parser.add_argument("--scenario", type=Path, default=DRAIN_SCENARIO, help="a scenario file")
    args = parser.parse_args()
    print(
        f"scenario={args.scenario.name} days={args.days:g} warmup_days={args.warmup_days:g} "
        f"step_hours={args.step_hours:g}"
    )
    separate = arm("separate", SEPARATE, args)
    joint = arm("joint", JOINT, args)
    if separate.net_profit_msat > 0:
        print(f"joint_vs_separate_ratio={joint.net_profit_msat / separate.net_profit_msat:.3f}")
    else:  # a ratio over a loss or nothing reads backwards: say so instead
        print(f"joint_vs_separate_ratio=undefined (separate net {separate.net_profit_msat} msat)")


if __name__ == "__main__":
    main()
