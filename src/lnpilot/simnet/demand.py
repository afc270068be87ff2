"""Who pays whom, when and how much: seeded background payments and scripted flows.

Background demand is a Poisson process over the whole network (the superposition of one per
sender, each sender weighted by its capacity), with log-normal amounts and destinations
weighted by capacity, because big nodes are where payments go. Flows are persistent,
directional streams ("merchant M receives N payments per hour", "exchange X pays out"), the
thing that drains channels one way and that fees and rebalancing exist to fight. A flow's
ends may be sets (leaf wallets behind an LSP paying a set of shops), and its rate may follow
a daily cycle and come in bursts, as mainnet traffic does (evenings, paydays, a viral tip
jar). A flow without cycle or bursts draws exactly the random numbers it always did.
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
class Rhythm:
    """When a flow is busy: a daily cosine around `peak_hour_utc` and random bursts.

    The rate at time t is `per_hour × (1 + daily_amplitude × cos(2π(h − peak)/24))`, times
    `burst_factor` inside a burst; bursts start as a Poisson process every `burst_every_h`
    hours on average and last `burst_hours`.
    """

    daily_amplitude: float = 0.0
    peak_hour_utc: float = 19.0
    burst_every_h: float = 0.0
    burst_hours: float = 1.0
    burst_factor: float = 5.0

    @property
    def steady(self) -> bool:
        return self.daily_amplitude == 0 and self.burst_every_h == 0

    @property
    def peak_factor(self) -> float:
        """The most the rate is ever multiplied by (the thinning envelope)."""
        burst = self.burst_factor if self.burst_every_h > 0 else 1.0
        return (1.0 + self.daily_amplitude) * max(1.0, burst)


@dataclass(frozen=True, slots=True)
class Flow:
    """A persistent stream of payments; a missing end is drawn by capacity each time.

    `sources`/`dests` are sets the end is drawn from uniformly instead of one fixed node.
    """

    name: str
    per_hour: float
    source: str | None = None
    dest: str | None = None
    amount: AmountDistribution = AmountDistribution(5_000, 0.8)
    sources: tuple[str, ...] = ()
    dests: tuple[str, ...] = ()
    rhythm: Rhythm = Rhythm()


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
        self.seed = seed
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
            if flow.per_hour <= 0:
                continue
            if flow.rhythm.steady:
                self._arm(3600 / flow.per_hour, self._flow_action(flow))
            else:
                peak_per_hour = flow.per_hour * flow.rhythm.peak_factor
                self._arm(3600 / peak_per_hour, self._thinned(flow, peak_per_hour))

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

    def _thinned(self, flow: Flow, peak_per_hour: float) -> Callable[[], None]:
        """Arrivals at the peak rate, each kept with probability rate(now)/peak (thinning)."""
        rhythm = flow.rhythm
        pay = self._flow_action(flow)
        bursts = random.Random(f"bursts-{self.seed}-{flow.name}")
        window = [0.0, 0.0]  # the current or next burst, in virtual seconds

        def rate_factor(now_s: float) -> float:
            factor = 1.0
            if rhythm.daily_amplitude:
                hour = ((self.network.config.start_unix_ns / NS_PER_S + now_s) % 86_400) / 3600
                angle = 2 * math.pi * (hour - rhythm.peak_hour_utc) / 24
                factor += rhythm.daily_amplitude * math.cos(angle)
            if rhythm.burst_every_h > 0:
                while window[1] <= now_s:
                    window[0] = window[1] + bursts.expovariate(1.0 / rhythm.burst_every_h) * 3600
                    window[1] = window[0] + rhythm.burst_hours * 3600
                if window[0] <= now_s:
                    factor *= rhythm.burst_factor
            return factor

        def maybe_pay() -> None:
            factor = rate_factor(self.network.now_ns / NS_PER_S)
            if self.rng.random() * peak_per_hour < flow.per_hour * factor:
                pay()

        return maybe_pay

    def _flow_action(self, flow: Flow) -> Callable[[], None]:
        def pay() -> None:
            if flow.sources:
                source = flow.sources[self.rng.randrange(len(flow.sources))]
            else:
                source = flow.source or self._senders.draw(self.rng)
            if flow.dests:
                dest = flow.dests[self.rng.randrange(len(flow.dests))]
            else:
                dest = flow.dest or self._dests.draw(self.rng)
            amt_msat = flow.amount.draw_msat(self.rng)
            if source != dest and self.network.online[source]:
                self.payer.pay(source, dest, amt_msat)

        return pay
