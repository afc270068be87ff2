"""Fee strategies against each other on the simulated network, in virtual time.

Why: a fee strategy is only worth its complexity if it earns more than leaving fees alone,
without spamming the network with updates. This runs the drain scenario
(``lnpilot/simnet/scenarios/fee_drain.toml``: a shop's customers pay through us and drain our
side of our channel to it) once per policy, same seed, same demand, through the lab
(:mod:`lnpilot.lab`: the daemon's collector and fee loops, hourly, through ``LndRest``), and
compares what our node earned in forwarding fees. The reference is static fees (the scenario's
100 ppm, never changed); the contender is the flow-adaptive controller with the shipped
defaults and bounds of 10..2000 ppm. Any other policy file joins with ``--policy NAME=FILE``:
that is how a new strategy is benchmarked.

Before the measured days, ``--warmup-days`` of the same traffic build the history the
strategies read (as a collector running before the fee engine is switched on); nothing is
evaluated or counted during them. The simulated senders pay whatever fee a route costs (they
have no fee limit), which is why every contender needs a ``max_fee_rate_ppm``.

Prints ``name=value`` lines; the headline figures are ``net_fees_ratio`` (flow-adaptive's fees
over static's; with no rebalancing in the scenario, net fees are the fees earned) and
``updates_per_channel_day`` (flow-adaptive's policy updates per channel per day).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from lnpilot.fees.policy import PolicyFile, load_policy, parse_policy
from lnpilot.lab import Figures, Lab
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation

DRAIN_SCENARIO = Path("fee_drain.toml")

STATIC = """
[[rule]]
name = "default"
strategy = "static"
static.fee_rate_ppm = 100
"""
FLOW_ADAPTIVE = """
[[rule]]
name = "default"
strategy = "flow_adaptive"
min_fee_rate_ppm = 10
max_fee_rate_ppm = 2000
"""


async def _measure(
    sim: Simulation, policy: PolicyFile, days: float, warmup: float
) -> tuple[Figures, dict[str, list[tuple[int, int]]]]:
    with tempfile.TemporaryDirectory(prefix="lnpilot-fees-sim-") as data_dir:
        async with Lab(sim, Path(data_dir), policy) as lab:
            await lab.run_for(warmup * 86_400, loops=("collect",))
            since = sim.network.now()
            await lab.run_for(days * 86_400)
            series = {
                scid: [(fee, local) for _, fee, local in samples]
                for scid, samples in lab.samples.items()
            }
            return await lab.figures(since), series


def arm(
    name: str, policy: PolicyFile, scenario: Path, seed: int | None, days: float, warmup: float
) -> Figures:
    sim = Simulation(load_scenario(scenario), seed=seed)
    started = time.perf_counter()
    figures, series = asyncio.run(_measure(sim, policy, days, warmup))
    elapsed = time.perf_counter() - started
    print(f"{name}_fees_sat={figures.fees_earned_msat / 1000:.0f}")
    print(f"{name}_forwards={figures.forwards}")
    print(f"{name}_liquidity_failures={figures.liquidity_failures}")
    print(f"{name}_updates={figures.policy_updates}")
    print(f"{name}_updates_per_channel_day={figures.updates_per_channel_day:.2f}")
    for alias, scid in _named_channels(sim).items():
        first, last = series[scid][0], series[scid][-1]
        print(
            f"{name}_{alias}_fee_ppm={first[0]}->{last[0]} "
            f"local_ratio={first[1] / 1000:.2f}->{last[1] / 1000:.2f}"
        )
    print(f"{name}_run_s={elapsed:.1f}")
    return figures


def _named_channels(sim: Simulation) -> dict[str, str]:
    """Our channels by their peer's name in the scenario (``n0``, ``shop``, ...)."""
    names = {pubkey: name for name, pubkey in sim.names.items()}
    return {names[v.remote_pubkey]: v.scid for v in sim.our_node.channels()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--warmup-days", type=float, default=7.0)
    parser.add_argument("--seed", type=int, default=None, help="default: the scenario's")
    parser.add_argument("--scenario", type=Path, default=DRAIN_SCENARIO, help="a scenario file")
    parser.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="another contender, compared with static as well",
    )
    args = parser.parse_args()
    contenders = [("static", parse_policy(STATIC)), ("flow_adaptive", parse_policy(FLOW_ADAPTIVE))]
    for spec in args.policy:
        name, _, path = spec.partition("=")
        contenders.append((name, load_policy(Path(path))))
    print(f"scenario={args.scenario.name} days={args.days:g} warmup_days={args.warmup_days:g}")
    outcomes = {
        name: arm(name, policy, args.scenario, args.seed, args.days, args.warmup_days)
        for name, policy in contenders
    }
    reference = outcomes["static"].fees_earned_msat
    for name, outcome in outcomes.items():
        if name not in ("static", "flow_adaptive"):
            print(f"{name}_net_fees_ratio={outcome.fees_earned_msat / reference:.2f}")
    print(f"net_fees_ratio={outcomes['flow_adaptive'].fees_earned_msat / reference:.2f}")
    print(f"updates_per_channel_day={outcomes['flow_adaptive'].updates_per_channel_day:.2f}")


if __name__ == "__main__":
    main()
