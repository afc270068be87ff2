"""The network moving by itself: blocks, the on-chain fee rate, peers, fees, channels.

Everything here is what other people and the chain do; our node's own decisions are made
outside (by lnpilot through the face). All timings are Poisson or exponential spells drawn
from one seeded RNG, scheduled on the virtual clock:

- blocks arrive every `block_interval_s` on average and confirm opens and closes;
- the on-chain fee rate takes a multiplicative random walk every hour;
- a node with uptime u < 1 alternates online spells of mean `offline_mean_s·u/(1−u)` with
  offline spells of mean `offline_mean_s`, so it is online a share u of the time;
- other nodes re-price one of their channels now and then (a log-normal step in ppm);
- other nodes open channels (to capacity-weighted peers) and close random ones.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from lnpilot.simnet.clock import NS_PER_S, Scheduler
from lnpilot.simnet.demand import SECONDS_PER_DAY, capacity_weights
from lnpilot.simnet.model import Channel, ChannelState, Policy
from lnpilot.simnet.network import SimNetwork


@dataclass(frozen=True, slots=True)
class DynamicsConfig:
    """Rates of the network's own changes (a scenario's `[dynamics]` table)."""

    block_interval_s: float = 600.0
    fee_rate_step_sigma: float = 0.15
    offline_mean_s: float = 7200.0
    fee_changes_per_node_per_day: float = 0.2
    fee_change_sigma: float = 0.3
    opens_per_day: float = 2.0
    closes_per_day: float = 2.0


class Dynamics:
    """Schedules the network's own changes; our node is never re-priced or closed by it."""

    def __init__(
        self,
        network: SimNetwork,
        scheduler: Scheduler,
        seed: int,
        config: DynamicsConfig,
        ours: str | None = None,
    ) -> None:
        self.network = network
        self.scheduler = scheduler
        self.rng = random.Random(f"dynamics-{seed}")
        self.config = config
        self.ours = ours
        self._ids: list[int] = []

    def _channel_ids(self) -> list[int]:
        """All channel ids in order (channels are never removed, so length tells staleness)."""
        if len(self._ids) != len(self.network.channels):
            self._ids = sorted(self.network.channels)
        return self._ids

    def _pick_channel(self, tries: int = 50) -> Channel | None:
        """A random open channel not ours and with nothing in flight, or None."""
        ids = self._channel_ids()
        for _ in range(tries):
            chan = self.network.channels[self.rng.choice(ids)]
            if (
                chan.state is ChannelState.OPEN
                and self.ours not in (chan.node1, chan.node2)
                and not any(chan.in_flight_count)
            ):
                return chan
        return None

    def start(self) -> None:
        cfg = self.config
        if cfg.block_interval_s > 0:
            self._every(cfg.block_interval_s, self.network.mine_block)
        if cfg.fee_rate_step_sigma > 0:
            self._every(3600.0, self._step_fee_rate, poisson=False)
        for pubkey in sorted(self.network.nodes):
            node = self.network.nodes[pubkey]
            if pubkey != self.ours and 0.0 < node.uptime < 1.0 and cfg.offline_mean_s > 0:
                self._schedule_flip(pubkey)
        others = len(self.network.nodes) - (1 if self.ours else 0)
        if cfg.fee_changes_per_node_per_day > 0 and others > 0:
            rate = cfg.fee_changes_per_node_per_day * others
            self._every(SECONDS_PER_DAY / rate, self._reprice)
        if cfg.opens_per_day > 0:
            self._every(SECONDS_PER_DAY / cfg.opens_per_day, self._open_random)
        if cfg.closes_per_day > 0:
            self._every(SECONDS_PER_DAY / cfg.closes_per_day, self._close_random)

    def _every(self, mean_s: float, action: Callable[[], None], *, poisson: bool = True) -> None:
        def gap_ns() -> int:
            seconds = self.rng.expovariate(1.0 / mean_s) if poisson else mean_s
            return max(1, int(seconds * NS_PER_S))

        def fire() -> None:
            action()
            self.scheduler.after(gap_ns(), fire)

        self.scheduler.after(gap_ns(), fire)

    def _step_fee_rate(self) -> None:
        rate = self.network.chain.fee_rate_sat_per_vbyte
        step = math.exp(self.rng.gauss(0.0, self.config.fee_rate_step_sigma))
        self.network.set_fee_rate(max(1, min(1000, round(rate * step))))

    def _schedule_flip(self, pubkey: str) -> None:
        node = self.network.nodes[pubkey]
        off_mean = self.config.offline_mean_s
        mean_s = off_mean if not node.online else off_mean * node.uptime / (1.0 - node.uptime)
        delay_ns = max(1, int(self.rng.expovariate(1.0 / mean_s) * NS_PER_S))

        def flip() -> None:
            self.network.set_online(pubkey, not self.network.nodes[pubkey].online)
            self._schedule_flip(pubkey)

        self.scheduler.after(delay_ns, flip)

    def _reprice(self) -> None:
        net = self.network
        chan = self._pick_channel()
        if chan is None:
            return
        side = self.rng.randrange(2)
        policy = chan.policies[side]
        if policy.disabled:
            return
        step = math.exp(self.rng.gauss(0.0, self.config.fee_change_sigma))
        new_ppm = max(0, min(50_000, round(max(1, policy.fee_rate_ppm) * step)))
        pubkey = chan.node1 if side == 0 else chan.node2
        net.update_policy(chan.chan_id, pubkey, fee_rate_ppm=new_ppm)

    def _open_random(self) -> None:
        net = self.network
        weights = capacity_weights(net, exclude=self.ours)
        if len(weights) < 2:
            return
        keys = [k for k, _ in weights]
        opener = self.rng.choice(keys)
        total = sum(w for _, w in weights)
        point = self.rng.random() * total
        peer = keys[-1]
        for key, weight in weights:
            point -= weight
            if point <= 0:
                peer = key
                break
        capacity_sat = max(
            100_000, int(self.rng.lognormvariate(math.log(5_000_000), 0.8)) // 1000 * 1000
        )
        node = net.nodes[opener]
        if peer == opener or not net.online[peer] or not net.online[opener]:
            return
        node.onchain_balance_sat = max(node.onchain_balance_sat, capacity_sat * 2)
        ppm = max(1, round(self.rng.lognormvariate(math.log(250), 1.0)))
        net.open_channel(
            opener, peer, capacity_sat, policy=Policy(0, ppm), peer_policy=Policy(0, ppm)
        )

    def _close_random(self) -> None:
        net = self.network
        chan = self._pick_channel()
        if chan is None:
            return
        initiator = chan.node1 if self.rng.random() < 0.5 else chan.node2
        force = not (net.online[chan.node1] and net.online[chan.node2]) or self.rng.random() < 0.2
        net.close_channel(chan.chan_id, initiator, force=force)
