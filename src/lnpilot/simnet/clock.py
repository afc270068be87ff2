"""Virtual time: a heap of scheduled events, run as fast as possible or paced to the wall.

The simulation is a discrete-event simulation: everything that happens (a payment arrives, a
block is mined, a peer goes offline) is an action scheduled at a virtual time. Running "as
fast as possible" pops actions in time order (ties broken by scheduling order, so runs are
deterministic). Running in real time with a speed-up paces the same actions to the wall clock
under asyncio, and moves virtual time forward between actions too, so that the LND face sees
time pass (invoice timestamps, forwarding history windows).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from lnpilot.simnet.network import SimNetwork

NS_PER_S = 1_000_000_000
#: Longest wall-clock sleep in real-time mode, so virtual time visibly advances.
_MAX_SLEEP_S = 0.1

Action = Callable[[], None]


class Scheduler:
    """Actions ordered by virtual time; running them advances the network's clock."""

    def __init__(self, network: SimNetwork) -> None:
        self.network = network
        self._heap: list[tuple[int, int, Action]] = []
        self._seq = 0
        self.executed = 0

    def at(self, time_ns: int, action: Action) -> None:
        """Run `action` at virtual time `time_ns` (not before now)."""
        self._seq += 1
        heapq.heappush(self._heap, (max(time_ns, self.network.now_ns), self._seq, action))

    def after(self, delay_ns: int, action: Action) -> None:
        self.at(self.network.now_ns + delay_ns, action)

    def next_time_ns(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def run_until(self, end_ns: int) -> None:
        """Run every action due up to `end_ns`, then set the clock to `end_ns`."""
        heap = self._heap
        net = self.network
        while heap and heap[0][0] <= end_ns:
            time_ns, _, action = heapq.heappop(heap)
            net.now_ns = time_ns
            action()
            self.executed += 1
        net.now_ns = max(net.now_ns, end_ns)

    def run_for(self, duration_s: float) -> None:
        """As fast as possible: `duration_s` of virtual time."""
        self.run_until(self.network.now_ns + int(duration_s * NS_PER_S))

    async def run_realtime(
        self,
        speed: float,
        stop: asyncio.Event | None = None,
        lock: AbstractContextManager[object] | None = None,
    ) -> None:
        """Pace virtual time at `speed` × the wall clock until `stop` is set (or forever).

        Actions run in the event loop between awaits, so handlers on the same loop never see
        the network half-updated; a face serving from another thread passes its `lock`, held
        around each batch of actions.
        """
        if speed <= 0:
            raise ValueError("speed must be positive")
        wall_start = time.monotonic()
        virtual_start = self.network.now_ns
        while stop is None or not stop.is_set():
            now_virtual = virtual_start + int((time.monotonic() - wall_start) * speed * NS_PER_S)
            with lock if lock is not None else nullcontext():
                self.run_until(now_virtual)
            next_ns = self.next_time_ns()
            wait_s = _MAX_SLEEP_S
            if next_ns is not None:
                wait_s = min(wait_s, max(0.0, (next_ns - now_virtual) / speed / NS_PER_S))
            await asyncio.sleep(wait_s)
