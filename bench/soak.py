"""A soak: the daemon's loops on the demo's simulated network for a simulated month, with
faults injected, then a consistency check of the store.

The loops are the daemon's own (``build_loops``: collector, monitor, notifier, the fee
engine and the rebalancer in apply mode under the demo's policy and budget), reading the
simulated node through its real LND REST face over loopback, on a SQLite store. Time is the
simulation's: each step runs the network for one interval (``--interval-min``, 60) of
traffic as fast as it goes, then calls the loops in the daemon's order. Faults, drawn from
``--seed``:

- node outages: the face is stopped for 1 to 6 intervals (the loops fail as they would,
  and are retried the next interval), then served again on the same port;
- crashes: a collector cycle is cancelled while under way (its transaction rolls back, as on
  SIGKILL), the loops are built anew (a restarted process: new objects, the same store), and
  the daemon stays down 0 to 5 intervals;
- slow answers: the daemon reads the face through the fault proxy the payment tests use
  (``lnpilot.devtools.fault_proxy``), which for one interval holds back the answers of the
  next 1 to 3 LND v1 requests (the HTLC event stream is left alone), half the time for
  ``SLOW_S`` (slow, yet within the client's ``LND_TIMEOUT_S``) and half the time for
  ``HUNG_S`` (past it: the request reached the node, a write took effect, and the client saw
  a timeout).

Then it checks: every forward the node made is stored exactly once; every interval of more
than three collection intervals between two stored cycles is marked by a ``collector_gap``;
the rebalancer's committed fees never exceeded the daily budget on any UTC day; and no
notice is left undispatched in the outbox. Not injected here: LNbits restarts (this
composition reads the node through LND REST only; a daemon reading it through LNbits on
simnet needs the LNbits install of ``../shared``, not composed here).

Prints what it injected and what it found as ``name=value`` lines; ``consistent=1`` when
every check holds. ``--days 2`` for a smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from lnpilot.base.domain import Forward
from lnpilot.cli.demo import POLICY, SCENARIO
from lnpilot.cli.simnet import LiveSimulation, live_simulation
from lnpilot.collect.collector import TRANSIENT_ERRORS
from lnpilot.config import Settings
from lnpilot.devtools.fault_proxy import Fault, ThreadedFaultProxy
from lnpilot.fees import parse_policy
from lnpilot.monitor import MonitorConfig
from lnpilot.node import CompositeNode, LndRest
from lnpilot.notify import Notifier, NotifyConfig
from lnpilot.rebalance.settings import parse_settings
from lnpilot.service import Services
from lnpilot.service.daemon import EngineConfig, build_loops
from lnpilot.simnet.lnd_rest import serve
from lnpilot.simnet.records import Forward as SimForward
from lnpilot.simnet.scenario import load_scenario
from lnpilot.store import GAP_INTERVALS, EventKind, Store, sqlite_url
from lnpilot.store.alerts import monitor_book
from lnpilot.store.levels import EPOCH
from lnpilot.store.rebalances import spending
from lnpilot.store.tables import channel_snapshots

Figures = dict[str, int | float | str]
Loops = dict[str, Callable[[], Awaitable[object]]]
ORDER = ("collect", "monitor", "notify", "fees", "rebalance", "retention")
#: The LND client's timeout here, and the two delays of a slow answer: one within it, one
#: past it. Short, as the soak's wall time is spent waiting for them.
LND_TIMEOUT_S = 2.0
SLOW_S = 0.5
HUNG_S = 3.0


def restart_face(live: LiveSimulation) -> None:
    live.face = serve(live.sim.our_node, live.macaroon_hex, port=live.face.port, lock=live.lock)


async def soak(days: int, interval: timedelta, seed: int, data_dir: Path) -> Figures:
    rng = random.Random(seed)
    engine = EngineConfig(
        MonitorConfig(), NotifyConfig(), parse_policy(POLICY), parse_settings(POLICY)
    )
    settings = Settings(
        lnbits={"url": "http://127.0.0.1:9"},
        data_dir=data_dir,
        service={
            "collect_interval_s": interval.total_seconds(),
            "monitor_interval_s": interval.total_seconds(),
            "fees_interval_s": interval.total_seconds(),
            "rebalance_interval_s": interval.total_seconds(),
            "fees_apply": True,
            "rebalance_apply": True,
        },
    )
    found: Figures = {
        "outages": 0,
        "outage_intervals": 0,
        "crashes": 0,
        "down_intervals": 0,
        "slow_spells": 0,
        "slow_requests_armed": 0,
    }
    failures = 0
    steps = int(timedelta(days=days) / interval)
    with (
        live_simulation(load_scenario(SCENARIO), seed) as live,
        ThreadedFaultProxy("127.0.0.1", live.face.port) as proxy,
    ):
        clock = live.sim.network.now
        async with (
            await Store.open(sqlite_url(data_dir)) as store,
            LndRest(proxy.url, live.macaroon_hex, timeout_s=LND_TIMEOUT_S) as lnd,
            Notifier(store, NotifyConfig()) as notifier,
        ):
            services = Services(
                store=store,
                node=CompositeNode([lnd]),
                settings=settings,
                clock=clock,
                node_pubkey=live.sim.our_node.pubkey,
            )

            def daemon() -> Loops:
                return {
                    loop.name: loop.run_once for loop in build_loops(services, engine, notifier)
                }

            loops = daemon()
            outage_left = down_left = 0
            for _ in range(steps):
                with live.lock:
                    live.sim.run_for(interval.total_seconds())
                if outage_left == 0 and down_left == 0:
                    roll = rng.random()
                    if roll < 0.02:
                        outage_left = rng.randint(1, 6)
                        found["outages"] += 1  # type: ignore[operator]
                        found["outage_intervals"] += outage_left  # type: ignore[operator]
                        live.face.stop()
                    elif roll < 0.04:
                        found["crashes"] += 1  # type: ignore[operator]
                        cycle = asyncio.ensure_future(loops["collect"]())
                        await asyncio.sleep(0.005)  # under way: reading the node
                        cycle.cancel()
                        await asyncio.gather(cycle, return_exceptions=True)
                        loops = daemon()
                        down_left = rng.randint(0, 5)
                        found["down_intervals"] += down_left  # type: ignore[operator]
                    elif roll < 0.07:
                        found["slow_spells"] += 1  # type: ignore[operator]
                        armed = rng.randint(1, 3)
                        found["slow_requests_armed"] += armed  # type: ignore[operator]
                        delay_s = SLOW_S if rng.random() < 0.5 else HUNG_S
                        proxy.set_rule(None, "/v1/", Fault.DELAY, armed, delay_s=delay_s)
                if down_left > 0:
                    down_left -= 1
                    continue
                for name in ORDER:
                    try:
                        await loops[name]()
                    except TRANSIENT_ERRORS:
                        failures += 1
                proxy.clear()  # a spell lasts one interval: what it did not catch passes
                if outage_left > 0:
                    outage_left -= 1
                    if outage_left == 0:
                        restart_face(live)
            if outage_left > 0:
                restart_face(live)
            delayed = [r for r in proxy.records() if r.fault is Fault.DELAY]
            found["slow_requests_delayed"] = len(delayed)
            found["slow_requests_that_took_effect"] = sum(r.upstream_handled for r in delayed)
            await loops["collect"]()  # the last word: every forward made is there to read
            with live.lock:  # the face dates forwards from the network's start
                offset_ns = live.sim.network.config.start_unix_ns
                node_forwards = [
                    (f.timestamp_ns + offset_ns, *_identity(f)[1:])
                    for f in live.sim.our_node.forwards
                ]
            found |= await check(store, live.sim.our_node.pubkey, interval, node_forwards, days)
    found["loop_failures"] = failures
    found["steps"] = steps
    return found


def _identity(forward: Forward | SimForward) -> tuple[int, int, int, int, int]:
    return (
        forward.timestamp_ns,
        forward.chan_id_in,
        forward.chan_id_out,
        forward.amt_out_msat,
        forward.fee_msat,
    )


async def check(
    store: Store,
    pubkey: str,
    interval: timedelta,
    node_forwards: list[tuple[int, int, int, int, int]],
    days: int,
) -> Figures:
    async with store.read() as reader:
        node_id = await reader.node_id(pubkey)
        assert node_id is not None, "the node was never collected"
        now = datetime.now().astimezone()
        stored = await reader.forwards(node_id, EPOCH, now + timedelta(days=3650))
        gaps = await reader.events(
            node_id, EPOCH, now + timedelta(days=3650), kinds=[EventKind.COLLECTOR_GAP]
        )
        result = await reader.connection.execute(
            select(channel_snapshots.c.at).where(channel_snapshots.c.node_id == node_id).distinct()
        )
        cycles = sorted(result.scalars())
        first_day = cycles[0].replace(hour=0, minute=0, second=0, microsecond=0)
        day_starts = [first_day + timedelta(days=d) for d in range(days + 2)]
        committed = await spending(reader, node_id, day_starts)
    async with monitor_book(store) as book:
        undispatched = len(await book.outbox.undispatched(limit=10_000))
    keys = {_identity(f) for f in stored}
    made = set(node_forwards)
    marked = {g.at for g in gaps}
    long_pauses = [
        (a, b) for a, b in itertools.pairwise(cycles) if b - a > GAP_INTERVALS * interval
    ]
    unmarked = [b for _, b in long_pauses if b not in marked]
    per_day = [a - b for a, b in itertools.pairwise(committed)]
    daily_budget_msat = parse_settings(POLICY).section.budget.daily_sat * 1000
    return {
        "forwards_made": len(made),
        "forwards_stored": len(stored),
        "forwards_duplicated": len(stored) - len(keys),
        "forwards_lost": len(made - keys),
        "cycles_stored": len(cycles),
        "pauses_over_3_intervals": len(long_pauses),
        "collector_gaps": len(gaps),
        "pauses_unmarked": len(unmarked),
        "rebalance_fees_max_day_msat": max(per_day, default=0),
        "rebalance_budget_day_msat": daily_budget_msat,
        "outbox_undispatched": undispatched,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--interval-min", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not 1 <= args.days <= 366 or not 1 <= args.interval_min <= 1440:
        parser.error("--days must be in 1..366 and --interval-min in 1..1440")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lnpilot-soak-") as tmp:
        found = asyncio.run(
            soak(args.days, timedelta(minutes=args.interval_min), args.seed, Path(tmp))
        )
    ok = (
        found["forwards_duplicated"] == 0
        and found["forwards_lost"] == 0
        and found["pauses_unmarked"] == 0
        and found["rebalance_fees_max_day_msat"] <= found["rebalance_budget_day_msat"]  # type: ignore[operator]
        and found["outbox_undispatched"] == 0
    )
    found |= {
        "days": args.days,
        "interval_min": args.interval_min,
        "seed": args.seed,
        "wall_s": round(time.monotonic() - started, 1),
        "consistent": int(ok),
    }
    for name, value in found.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
