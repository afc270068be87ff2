"""Who pays whom, when and how much: seeded background payments and scripted flows.

Background demand is a Poisson process over the whole network (the superposition of one per
sender, each sender weighted by its capacity), with log-normal amounts and destinations
weighted by capacity, because big nodes are where payments go. Flows are persistent,
directional streams ("merchant M receives N payments per hour", "exchange X pays out"), the
thing that drains channels one way and that fees and rebalancing exist to fight.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from lnpilot.simnet.clock import NS_PER_S, Scheduler
from lnpilot.simnet.network import SimNetwork
from lnpilot.simnet.payments import Payer

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class AmountDistribution:
    """Log-normal payment amounts: the median in sat and the sigma of the log."""

    median_sat: int = 20_000
    sigma: float = 1.3
    max_sat: int = 5_000_000

    def draw_msat(self, rng: random.Random) -> int:
        sat = rng.lognormvariate(math.log(self.median_sat), self.sigma)
        return max(1000, min(int(sat * 1000), self.max_sat * 1000))


@dataclass(frozen=True, slots=True)
class Flow:
    """A persistent stream of payments; a missing end is drawn by capacity each time."""

    name: str
    per_hour: float
    source: str | None = None
    dest: str | None = None
    amount: AmountDistribution = AmountDistribution(5_000, 0.8)


class _Weighted:
    """Draw pubkeys with given weights in O(log n) (cumulative weights and bisect)."""

    def __init__(self, items: list[tuple[str, float]]) -> None:
        self.keys = [k for k, w in items if w > 0]
        self.cumulative = list(itertools.accumulate(w for _, w in items if w > 0))

    def draw(self, rng: random.Random) -> str:
        point = rng.random() * self.cumulative[-1]
        return self.keys[bisect.bisect_right(self.cumulative, point)]


def capacity_weights(network: SimNetwork, exclude: str | None = None) -> list[tuple[str, float]]:
    """Each node with the total capacity of its channels, sorted for determinism."""
    totals: dict[str, float] = {}
    for chan in network.channels.values():
        for pubkey in (chan.node1, chan.node2):
            totals[pubkey] = totals.get(pubkey, 0.0) + chan.capacity_sat
    return [(k, totals[k]) for k in sorted(totals) if k != exclude]


class Demand:
    """Schedules background payments and flows on a scheduler, all from one seeded RNG."""

    def __init__(
        self,
        network: SimNetwork,
        payer: Payer,
        scheduler: Scheduler,
        seed: int,
        payments_per_day: float,
        amount: AmountDistribution,
        flows: list[Flow],
        exclude_sender: str | None = None,
    ) -> None:
        self.network = network
        self.payer = payer
        self.scheduler = scheduler
        self.rng = random.Random(f"demand-{seed}")
        self.payments_per_day = payments_per_day
        self.amount = amount
        self.flows = flows
        weights = capacity_weights(network)
        self._dests = _Weighted(weights)
        self._senders = _Weighted([(k, math.sqrt(w)) for k, w in weights if k != exclude_sender])

    def start(self) -> None:
        """Schedule the first arrival of each process; each reschedules itself."""
        if self.payments_per_day > 0 and self._dests.keys:
            self._arm(SECONDS_PER_DAY / self.payments_per_day, self._random_payment)
        for flow in self.flows:
            if flow.per_hour > 0:
                self._arm(3600 / flow.per_hour, self._flow_action(flow))

    def _arm(self, mean_gap_s: float, action: Callable[[], None]) -> None:
        def fire() -> None:
            action()
            self.scheduler.after(self._gap_ns(mean_gap_s), fire)

        self.scheduler.after(self._gap_ns(mean_gap_s), fire)

    def _gap_ns(self, mean_gap_s: float) -> int:
        return max(1, int(self.rng.expovariate(1.0 / mean_gap_s) * NS_PER_S))

    def _random_payment(self) -> None:
        source = self._senders.draw(self.rng)
        dest = self._dests.draw(self.rng)
        amt_msat = self.amount.draw_msat(self.rng)
        if source != dest and self.network.online[source]:
            self.payer.pay(source, dest, amt_msat)

    def _flow_action(self, flow: Flow) -> Callable[[], None]:
        def pay() -> None:
            source = flow.source or self._senders.draw(self.rng)
            dest = flow.dest or self._dests.draw(self.rng)
            amt_msat = flow.amount.draw_msat(self.rng)
            if source != dest and self.network.online[source]:
                self.payer.pay(source, dest, amt_msat)

        return pay
