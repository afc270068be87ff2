"""The daemon's own loops over a simulated network, in virtual time: how strategies are judged.

A :class:`Lab` holds one :class:`~lnpilot.simnet.simulation.Simulation` and runs on it the
loop table ``lnpilot run`` runs (:func:`~lnpilot.service.daemon.build_loops`): the collector
into a real store, the fee engine (gather → plan → safety → applier → journal) and the
rebalancer. They reach the simulated node through the production
:class:`~lnpilot.node.lnd_rest.LndRest` backend, whose HTTP goes to simnet's LND REST app
through an in-process transport (:mod:`lnpilot.lab.transport`): no socket, no thread, and no
second pipeline. A strategy that wins here runs the same in ``lnpilot run``.

Time is the simulation's: the lab advances the network to the next loop that is due, lets
the HTLC events the network emitted reach the backend (counted, not waited for), then runs
that loop. The monitor, notify and retention loops are left out: they decide nothing that
reaches the node. Only the collector runs during the warm-up, which builds the history the
strategies read, as a collector running before the fee engine is switched on would.

What a run earned is read from the simulation itself (the truth), what the automation did
from the store's journals (what the daemon says it did).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

from lnpilot.config import Settings
from lnpilot.fees.policy import PolicyFile
from lnpilot.lab.transport import InProcessTransport
from lnpilot.monitor import MonitorConfig
from lnpilot.node import LndRest
from lnpilot.notify import Notifier, NotifyConfig
from lnpilot.rebalance.settings import RebalanceSettings
from lnpilot.service.context import Services
from lnpilot.service.daemon import EngineConfig, build_loops
from lnpilot.service.supervisor import Loop
from lnpilot.simnet.clock import NS_PER_S
from lnpilot.simnet.lnd_rest.app import create_app
from lnpilot.simnet.records import HtlcEvent, HtlcEventKind, HtlcEventType
from lnpilot.simnet.simulation import Simulation
from lnpilot.store import Store, fee_journal, rebalances, sqlite_url

#: The address the backend is given: nothing listens there, the transport answers.
LAB_URL = "http://simnet.lab"
HTLC_EVENTS_PATH = "/v2/router/htlcevents"
#: The daemon's loops that act on the node; the others only watch and tell.
ACTING_LOOPS = ("collect", "fees", "rebalance")
#: Event-loop turns allowed for emitted HTLC events to reach the backend (each takes a
#: few); more means the stream is stuck, which is a bug worth stopping for.
_DELIVERY_TURNS_PER_EVENT = 50
#: What a forward failed with when our side lacked the sats (as the store counts them).
_LIQUIDITY_FAILURES = frozenset({"INSUFFICIENT_BALANCE", "TEMPORARY_CHANNEL_FAILURE"})


@dataclass(frozen=True)
class Intervals:
    """How often each acting loop runs, in virtual seconds (the daemon's defaults are
    60 s for the collector and an hour for the engines; the collector reads forwards by
    index, so a coarser interval loses none of them)."""

    collect_s: float = 3600.0
    fees_s: float = 3600.0
    rebalance_s: float = 3600.0


@dataclass(frozen=True)
class Figures:
    """What one arm achieved over the measured days (fees in msat, costs in msat)."""

    days: float
    channels: int
    fees_earned_msat: int
    rebalance_cost_msat: int
    onchain_cost_msat: int
    forwards: int
    liquidity_failures: int
    policy_updates: int
    loop_runs: int

    @property
    def net_profit_msat(self) -> int:
        return self.fees_earned_msat - self.rebalance_cost_msat - self.onchain_cost_msat

    @property
    def updates_per_channel_day(self) -> float:
        channel_days = self.channels * self.days
        return self.policy_updates / channel_days if channel_days else 0.0


class Lab:
    """The daemon's acting loops on `sim`, with a fresh SQLite store in `data_dir`.

    `policy` is the fee policy (None: no fee loop) and `rebalance` the rebalancing settings
    (None or disabled: no rebalancer); both apply for real, as ``fees_apply`` and
    ``rebalance_apply`` would. Use as an async context manager.
    """

    def __init__(
        self,
        sim: Simulation,
        data_dir: Path,
        policy: PolicyFile | None,
        rebalance: RebalanceSettings | None = None,
        *,
        intervals: Intervals = Intervals(),
    ) -> None:
        self.sim = sim
        self._data_dir = data_dir
        self._policy = policy
        self._rebalance = rebalance
        self._intervals = intervals
        macaroon_hex = secrets.token_hex(32)
        self.transport = InProcessTransport(create_app(sim.our_node, macaroon_hex))
        self.node = LndRest(LAB_URL, macaroon_hex, transport=self.transport, clock=sim.network.now)
        self._emitted = 0
        self._liquidity_failures_ns: list[int] = []
        sim.our_node.subscribe_htlc_events(self._on_event)
        self._store: Store | None = None
        self._notifier: Notifier | None = None
        self._loops: list[Loop] = []
        self._due_ns: dict[str, int] = {}
        self.loop_runs = 0
        #: After each fee run: (virtual time, fee rate ppm, local balance per mille) per
        #: channel, by short channel id (what the node showed then).
        self.samples: dict[str, list[tuple[datetime, int, int]]] = {}

    # --- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Lab:
        settings = Settings(
            lnbits={"url": "http://127.0.0.1:9"},
            data_dir=self._data_dir,
            service={
                "collect_interval_s": self._intervals.collect_s,
                "fees_interval_s": self._intervals.fees_s,
                "fees_apply": True,
                "rebalance_interval_s": self._intervals.rebalance_s,
                "rebalance_apply": True,
            },
        )
        self._store = await Store.open(sqlite_url(self._data_dir))
        self._notifier = Notifier(self._store, NotifyConfig())
        services = Services(
            store=self._store,
            node=self.node,
            settings=settings,
            clock=self.sim.network.now,
            node_pubkey=self.sim.our_node.pubkey,
        )
        engine = EngineConfig(MonitorConfig(), NotifyConfig(), self._policy, self._rebalance)
        self._loops = [
            loop
            for loop in build_loops(services, engine, self._notifier)
            if loop.name in ACTING_LOOPS
        ]
        await self.node.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.node.aclose()
        if self._notifier is not None:
            await self._notifier.aclose()
        if self._store is not None:
            await self._store.close()

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the lab is not open: use it as `async with Lab(...)`")
        return self._store

    # --- running -----------------------------------------------------------------------

    async def run_for(self, duration_s: float, *, loops: Iterable[str] = ACTING_LOOPS) -> None:
        """Advance `duration_s` of virtual time, running the named loops whenever due
        (each first runs at once, then every interval), in the daemon table's order."""
        names = set(loops)
        active = [loop for loop in self._loops if loop.name in names]
        now_ns = self.sim.network.now_ns
        end_ns = now_ns + int(duration_s * NS_PER_S)
        for loop in active:
            self._due_ns.setdefault(loop.name, now_ns)
        while True:
            due = [(self._due_ns[loop.name], i) for i, loop in enumerate(active)]
            at_ns, index = min(due, default=(end_ns, -1))
            if at_ns >= end_ns:
                break
            await self._advance_to(at_ns)
            loop = active[index]
            await self._run(loop)
            self._due_ns[loop.name] = at_ns + int(loop.interval_s * NS_PER_S)
        await self._advance_to(end_ns)

    async def _run(self, loop: Loop) -> None:
        """One call of the loop. Its "input not there yet" waits for the next interval (the
        supervisor would retry sooner; in virtual time nothing changes in between)."""
        self.loop_runs += 1
        try:
            await loop.run_once()
        except loop.waits_on:
            return
        if loop.name == "fees":
            self._sample()

    def _sample(self) -> None:
        now = self.sim.network.now()
        for view in self.sim.our_node.channels():
            total_msat = view.local_balance_msat + view.remote_balance_msat
            local_permille = view.local_balance_msat * 1000 // total_msat if total_msat else 0
            self.samples.setdefault(view.scid, []).append(
                (now, view.local_policy.fee_rate_ppm, local_permille)
            )

    async def _advance_to(self, at_ns: int) -> None:
        if at_ns > self.sim.network.now_ns:
            self.sim.run_for((at_ns - self.sim.network.now_ns) / NS_PER_S)
        await self._delivered()

    def _on_event(self, event: HtlcEvent) -> None:
        self._emitted += 1
        if event.kind is not HtlcEventKind.LINK_FAIL or event.event_type is not (
            HtlcEventType.FORWARD
        ):
            return
        detail = event.failure_detail.value if event.failure_detail else ""
        wire = event.wire_failure.value if event.wire_failure else ""
        if (detail if detail not in ("", "NO_DETAIL") else wire) in _LIQUIDITY_FAILURES:
            self._liquidity_failures_ns.append(event.timestamp_ns)

    async def _delivered(self) -> None:
        """Return once the backend has read every HTLC event emitted so far (and the
        stream's opening line), so a collection sees the failed forwards of its interval."""
        want = self._emitted + 1
        turns = (want - self.transport.lines_read(HTLC_EVENTS_PATH) + 1) * (
            _DELIVERY_TURNS_PER_EVENT
        )
        for _ in range(turns):
            if self.transport.lines_read(HTLC_EVENTS_PATH) >= want:
                return
            await asyncio.sleep(0)
        raise RuntimeError(
            f"the HTLC event stream is stuck: {self.transport.lines_read(HTLC_EVENTS_PATH)}"
            f" lines read of {want}"
        )

    # --- figures -----------------------------------------------------------------------

    async def figures(self, since: datetime) -> Figures:
        """What happened since `since` (virtual time): earned, spent, forwarded, failed for
        lack of liquidity, and the policy updates the fee journal says were sent."""
        net = self.sim.network
        since_ns = int((since - net.config.start).total_seconds() * NS_PER_S)
        forwards = [f for f in self.sim.our_node.forwards if f.timestamp_ns > since_ns]
        async with self.store.read() as reader:
            node_id = await reader.node_id(self.sim.our_node.pubkey)
            if node_id is None:
                updates, spent_msat = 0, 0
            else:
                # The run at `since` itself counts (the journal's reads are "after").
                just_before = since - timedelta(microseconds=1)
                updates = len(await fee_journal.sent_updates(reader, node_id, just_before))
                spent_msat = (await rebalances.spending(reader, node_id, [since]))[0]
        return Figures(
            days=(net.now_ns - since_ns) / (86_400 * NS_PER_S),
            channels=len(self.sim.our_node.channels()),
            fees_earned_msat=sum(f.fee_msat for f in forwards),
            rebalance_cost_msat=spent_msat,
            onchain_cost_msat=0,
            forwards=len(forwards),
            liquidity_failures=sum(1 for at in self._liquidity_failures_ns if at > since_ns),
            policy_updates=updates,
            loop_runs=self.loop_runs,
        )
