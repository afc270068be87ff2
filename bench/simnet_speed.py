"""How fast the simulated network runs on the real 500-node mainnet core, in virtual time.

Why: the strategy benchmark will replay months of a network in which lnpilot manages one
node, so the simulation must route thousands of payment attempts per second and a month
must fit in minutes. Targets (issue 3): payments_per_s >= 3000 attempts per second on one
core, month_sim_s <= 120 for 30 simulated days of the default scenario, peak_rss_mb <= 1000.

The default benchmark scenario: the snapshot `../shared/data/ln_graph_500.json.gz` (balances
split at random, seeded), our node with five channels to the five biggest nodes, background
payments (default 10,000 per day, log-normal amounts, median 20k sat), a merchant flow into
our node's neighbourhood, and the usual dynamics (blocks, fee rate, uptime, re-pricing, opens
and closes).

Machines are noisy, so the same run also times a reference: one plain full backward
Dijkstra over the same graph (`ref_dijkstra_ms`), and prints how many payment attempts the
simulation completes in the time of one such search (`attempts_per_dijkstra`).

The league's networks (issue 13) are generated pieces of the full mainnet graph
(`lnpilot simnet scenario new`, ~6,000 payments a day, leaves behind hubs, LND/CLN/LDK payers),
so the same run also times one virtual day, after an hour of warm-up, of a generated 60-node
and 300-node piece (`piece60_day_s`, `piece300_day_s`), each next to the reference Dijkstra
on that piece (`piece60_ref_dijkstra_ms`) and the ratio of the two (`piece60_day_per_dijkstra`:
how many reference searches a virtual day costs, the figure to compare across runs). Each
piece also prints the digest of its results (`simnet.fingerprint`): equal digests from old and
new code on the same piece mean a speed-up kept the results. `--pieces-only` skips the
snapshot figures; `--scenario FILE` (repeatable) times saved scenario files instead of
generating pieces.

Prints `name=value` lines. Skips (exit 0, with a message) when the snapshot is absent.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lnpilot.simnet.fingerprint import RunFingerprint
from lnpilot.simnet.routing import search_tree
from lnpilot.simnet.scenario import Scenario, load_scenario, snapshot_scenario
from lnpilot.simnet.simulation import Simulation

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DEFAULT_SNAPSHOT = SHARED_DATA / "ln_graph_500.json.gz"
DEFAULT_GRAPH = SHARED_DATA / "ln_graph_full_2026-02-03.json.gz"
DAY_S = 86_400
#: The generated pieces: (label, nodes), carved around a random center drawn from seed 0 on,
#: balanced demand and six channels of ours, as the league makes them.
PIECES = (("piece60", 60), ("piece300", 300))


def reference_dijkstra_s(
    sim: Simulation, rounds: int = 5, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Median time of a full backward Dijkstra (no cache, prior only) on the same graph."""
    net = sim.network
    dests = sorted(net.nodes)[:rounds]
    times = []
    for dest in dests:
        start = clock()
        search_tree(net.in_edges, net.online, dest, 50_000_000)
        times.append(clock() - start)
    return sorted(times)[len(times) // 2]


def time_day(label: str, scenario: Scenario) -> None:
    """One virtual day of `scenario` after an hour of warm-up, next to the reference search.

    Both in CPU time as well as wall time: the machine is shared by many jobs, and CPU time
    of a single-threaded loop that never waits is the steadier of the two."""
    sim = Simulation(scenario)
    fingerprint = RunFingerprint(sim)
    ref_s = reference_dijkstra_s(sim, rounds=15, clock=time.process_time)
    sim.run_for(3600)
    start, start_cpu = time.perf_counter(), time.process_time()
    sim.run_for(DAY_S)
    day_s = time.perf_counter() - start
    day_cpu_s = time.process_time() - start_cpu
    print(f"{label}_nodes={len(sim.network.nodes)}")
    print(f"{label}_channels={len(sim.network.channels)}")
    print(f"{label}_payments={fingerprint.payments}")
    print(f"{label}_attempts={fingerprint.attempts}")
    print(f"{label}_day_s={day_s:.2f}")
    print(f"{label}_day_cpu_s={day_cpu_s:.2f}")
    print(f"{label}_ref_dijkstra_ms={ref_s * 1000:.2f}")
    print(f"{label}_day_per_dijkstra={day_cpu_s / ref_s:.0f}")
    print(f"{label}_result_digest={fingerprint.hexdigest()}")


def time_pieces(graph: Path, scenarios: list[Path]) -> None:
    """`time_day` on the given scenario files, or on freshly generated pieces of `graph`."""
    if scenarios:
        for i, path in enumerate(scenarios):
            print(f"scenario{i}_file={path}")
            time_day(f"scenario{i}", load_scenario(path))
        return
    if not graph.exists():
        print(f"skipped: pieces, graph {graph} not found (it lives in ../shared/data/)")
        return
    from lnpilot.simnet.generate import first_busy_scenario

    for label, nodes in PIECES:
        made = first_busy_scenario(
            graph, first_seed=0, nodes=nodes, our_channels=6, demand="balanced", random_center=True
        )
        print(f"{label}_center={made.center_pubkey}")
        time_day(label, made.scenario)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
    parser.add_argument("--days", type=float, default=30.0, help="simulated days for month_sim_s")
    parser.add_argument("--payments-per-day", type=float, default=10_000.0)
    parser.add_argument("--rate-days", type=float, default=1.0, help="days for payments_per_s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--graph", type=Path, default=DEFAULT_GRAPH, help="graph for the pieces")
    parser.add_argument("--scenario", type=Path, action="append", default=[])
    parser.add_argument("--pieces-only", action="store_true")
    args = parser.parse_args()
    time_pieces(args.graph.resolve(), args.scenario)
    if args.pieces_only:
        return 0
    snapshot = args.snapshot.resolve()
    if not snapshot.exists():
        print(f"skipped: snapshot {snapshot} not found (it lives in ../shared/data/)")
        return 0

    # Throughput: a busy network (10x the default demand) after a warm-up day.
    sim = Simulation(snapshot_scenario(snapshot, args.payments_per_day * 10, args.seed))
    ref_s = reference_dijkstra_s(sim)
    sim.run_for(DAY_S / 4)
    attempts_before = sim.payer.stats.attempts
    start = time.perf_counter()
    sim.run_for(DAY_S * args.rate_days)
    rate_s = time.perf_counter() - start
    payments_per_s = (sim.payer.stats.attempts - attempts_before) / rate_s

    # A month of the default scenario, from a fresh network (includes building it).
    start = time.perf_counter()
    month = Simulation(snapshot_scenario(snapshot, args.payments_per_day, args.seed))
    month.run_for(DAY_S * args.days)
    month_s = time.perf_counter() - start
    stats = month.payer.stats
    cache = month.payer.cache
    hit_rate = cache.hits / max(1, cache.hits + cache.misses)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"payments_per_s={payments_per_s:.0f}")
    print(f"month_sim_s={month_s:.1f}")
    print(f"peak_rss_mb={peak_rss_mb:.0f}")
    print(f"ref_dijkstra_ms={ref_s * 1000:.1f}")
    print(f"attempts_per_dijkstra={payments_per_s * ref_s:.1f}")
    print(f"month_days={args.days:g}")
    print(f"month_payments={stats.payments}")
    print(f"month_success_rate={stats.succeeded / max(1, stats.payments):.3f}")
    print(f"month_route_cache_hit_rate={hit_rate:.3f}")
    print(f"month_event_log_hash={month.event_log_hash()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
