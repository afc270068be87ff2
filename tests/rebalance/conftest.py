"""Rebalancing fixtures: channels and metrics for the planner's pure tests, and the drain
scenario (``lnpilot/rebalance/drain_scenario.toml``) served by our node's LND REST face for
the tests that move real (simulated) liquidity.

The scenario: ours ─ shop (we earn 800 ppm; customers drain our side), ours ─ wallet (the
customers' side: it fills), ours ─ spare (no traffic); wallet → hub1 → hub2 → shop is the
way back round. Its clock is virtual and moves only with ``Drain.advance``; the collector
and the rebalancer stamp their runs with it. Stores are SQLite, and PostgreSQL too when
asked (the store tests' own fixtures, imported below).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import lnpilot.rebalance
from collect.conftest import MACAROON  # the collector's CLI tests present it
from lnpilot.base.domain import Channel, ChannelPolicy, ChannelState, Route, RouteAttempt
from lnpilot.collect import Collector
from lnpilot.node import LndRest
from lnpilot.node.backend import NodeBackend
from lnpilot.rebalance import Rebalancer, RebalanceSettings, parse_settings
from lnpilot.simnet.lnd_rest import FaceServer, serve
from lnpilot.simnet.model import Channel as SimChannel
from lnpilot.simnet.records import PaymentStatus
from lnpilot.simnet.scenario import load_scenario
from lnpilot.simnet.simulation import Simulation
from lnpilot.store import Store
from lnpilot.store.metrics import ChannelMetrics, WindowFlow
from store.conftest import database_url, store

__all__ = ["database_url", "store"]

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)
SHOP, WALLET, SPARE = "800000x1x0", "800000x2x0", "800000x3x0"
DRAIN_SCENARIO = Path(lnpilot.rebalance.__file__).with_name("drain_scenario.toml")


# --- the planner's inputs, made by hand --------------------------------------------------------


def pubkey(n: int) -> str:
    return "02" + f"{n:02x}" * 32


def channel(
    n: int,
    *,
    local_pct: int,
    capacity_sat: int = 1_000_000,
    fee_ppm: int = 100,
    peer_fee_ppm: int = 10,
    peer: int | None = None,
    active: bool = True,
) -> Channel:
    """Channel ``800000xNx0`` to peer ``n`` (or ``peer``), ``local_pct`` of it ours."""
    local_msat = capacity_sat * 1000 * local_pct // 100
    return Channel(
        scid=f"800000x{n}x0",
        chan_id=(800_000 << 40) | (n << 16),
        channel_point=f"{n:064x}:0",
        peer_pubkey=pubkey(peer if peer is not None else n),
        capacity_sat=capacity_sat,
        local_balance_msat=local_msat,
        remote_balance_msat=capacity_sat * 1000 - local_msat,
        state=ChannelState.ACTIVE if active else ChannelState.INACTIVE,
        peer_alias=f"peer{peer if peer is not None else n}",
        local_policy=ChannelPolicy(base_fee_msat=0, fee_rate_ppm=fee_ppm),
        remote_policy=ChannelPolicy(base_fee_msat=0, fee_rate_ppm=peer_fee_ppm),
    )


def metrics(
    chan: Channel,
    *,
    out_sat: int = 0,
    in_sat: int = 0,
    forwards_out: int | None = None,
    earned_msat: int = 0,
    windows: Sequence[timedelta] = (WEEK, MONTH),
) -> ChannelMetrics:
    """The collector's metrics of ``chan`` with the same flows over every window."""
    flows = tuple(
        WindowFlow(
            window=w,
            forwards_in=1 if in_sat else 0,
            forwards_out=forwards_out if forwards_out is not None else (1 if out_sat else 0),
            volume_in_msat=in_sat * 1000,
            volume_out_msat=out_sat * 1000,
            fees_earned_msat=earned_msat,
            fees_inbound_msat=0,
            utilisation=0.0,
        )
        for w in windows
    )
    return ChannelMetrics(
        channel=chan,
        now=NOW,
        windows=flows,
        flow_trend_msat_per_day=0.0,
        days_since_last_forward=0,
        peer_uptime=1.0,
        avg_local_balance_msat=chan.local_balance_msat,
        return_on_liquidity_ppm_per_day=None,
    )


# --- the drain scenario on simnet ---------------------------------------------------------------


@dataclass
class Drain:
    """The scenario's simulation, its face and an LndRest on it; mutate under ``lock``."""

    sim: Simulation
    lock: threading.RLock
    face: FaceServer
    lnd: LndRest

    @property
    def now(self) -> datetime:
        return self.sim.network.now()

    def advance(self, delta: timedelta) -> None:
        """Run the scenario's traffic for ``delta`` of virtual time."""
        with self.lock:
            self.sim.run_for(delta.total_seconds())

    def chan(self, scid: str) -> SimChannel:
        return next(c for c in self.sim.network.channels.values() if c.scid == scid)

    def local_msat(self, scid: str) -> int:
        chan = self.chan(scid)
        with self.lock:
            return chan.balance_msat[chan.side_of(self.sim.our_node.pubkey)]

    def move(self, scid: str, owner: str, keep_sat: int) -> None:
        """Leave ``owner`` (a scenario name) only ``keep_sat`` on its side of ``scid``."""
        chan = self.chan(scid)
        side = chan.side_of(self.sim.names[owner])
        with self.lock:
            total = chan.balance_msat[0] + chan.balance_msat[1]
            chan.balance_msat[side] = keep_sat * 1000
            chan.balance_msat[1 - side] = total - keep_sat * 1000

    def our_payment_fees_msat(self) -> int:
        """Fees our node paid for its settled payments: what rebalancing really cost."""
        with self.lock:
            return sum(
                p.fee_msat
                for p in self.sim.our_node.payments.values()
                if p.status is PaymentStatus.SUCCEEDED
            )

    def collector(self, store: Store) -> Collector:
        return Collector(self.lnd, store, clock=lambda: self.now)

    def rebalancer(
        self, store: Store, settings: RebalanceSettings, node: NodeBackend | None = None
    ) -> Rebalancer:
        return Rebalancer(node or self.lnd, store, settings, clock=lambda: self.now)

    async def drained(self, store: Store) -> None:
        """Two days of traffic recorded (some 600 sat earned: the budget's earnings share),
        then our side of the shop channel nearly empty (10%) and of the wallet channel
        nearly full (90%)."""
        self.advance(timedelta(days=2))
        await self.collector(store).cycle()
        self.move(SHOP, "ours", keep_sat=400_000)
        self.move(WALLET, "ours", keep_sat=5_400_000)


@asynccontextmanager
async def running_drain(start: datetime | None = None) -> AsyncIterator[Drain]:
    """The scenario from ``start`` (default: its own), served, with an LndRest on it."""
    sim = Simulation(load_scenario(DRAIN_SCENARIO), start=start)
    lock = threading.RLock()
    face = serve(sim.our_node, MACAROON, lock=lock)
    try:
        async with LndRest(face.url, MACAROON, timeout_s=10) as lnd:
            yield Drain(sim, lock, face, lnd)
    finally:
        face.stop()


@pytest.fixture
async def drain() -> AsyncIterator[Drain]:
    async with running_drain() as world:
        yield world


DEFAULTS: RebalanceSettings = parse_settings("")


class Watched(LndRest):
    """An LndRest on the face whose circular HTLCs are watched: how many are out at once
    per channel, and, when asked, held ``hold_s`` before they leave (a slow node, or with a
    hold longer than the executor's timeout, one that never answers)."""

    def __init__(self, url: str, hold_s: float = 0.0) -> None:
        super().__init__(url, MACAROON, timeout_s=10)
        self.hold_s = hold_s
        self.out: dict[int, int] = {}
        self.most_at_once: dict[int, int] = {}
        self.sending = asyncio.Event()

    async def send_to_route(self, payment_hash: str, route: Route) -> RouteAttempt:
        ends = (route.hops[0].chan_id, route.hops[-1].chan_id)
        for chan_id in ends:
            self.out[chan_id] = self.out.get(chan_id, 0) + 1
            self.most_at_once[chan_id] = max(self.most_at_once.get(chan_id, 0), self.out[chan_id])
        self.sending.set()
        try:
            await asyncio.sleep(self.hold_s)
            return await super().send_to_route(payment_hash, route)
        finally:
            for chan_id in ends:
                self.out[chan_id] -= 1
