"""The outbox across crashes: a notifier process killed in the middle of a delivery, and
restarted, loses nothing and sends nothing it had delivered.

The notifier runs in a child process on a SQLite file; the webhook receiver (this process)
holds the third request without answering, and the child is killed with SIGKILL while it
waits, the worst moment: the receiver has the request, the notifier has no answer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from lnpilot.notify import Notifier, NotifyConfig
from lnpilot.notify.senders import DELIVERY_HEADER
from lnpilot.store import Store, sqlite_url
from lnpilot.store.alerts import monitor_book
from lnpilot.store.outbox import DeliveryState

from .conftest import T0, HttpServer, Reply, Request, Responder, enqueue, json_reply, notice

CHILD = """
import asyncio, sys
from datetime import datetime
from lnpilot.notify import Notifier, NotifyConfig
from lnpilot.store import Store

async def main() -> None:
    url, hook, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
    config = NotifyConfig.model_validate({
        "receivers": {"hook": {"type": "webhook", "url": hook, "timeout_s": 60}},
        "routes": [{"name": "all", "receivers": ["hook"]}],
        "delivery": {"lease_s": 60},
    })
    async with await Store.open(url) as store, Notifier(store, config) as notifier:
        await notifier.run_once(now)

asyncio.run(main())
"""


def _config(url: str) -> NotifyConfig:
    return NotifyConfig.model_validate(
        {
            "receivers": {"hook": {"type": "webhook", "url": url}},
            "routes": [{"name": "all", "receivers": ["hook"]}],
            "delivery": {"lease_s": 60},
        }
    )


class HoldingReceiver:
    """Answers 200, except that the first arrival of the ``hold``-th delivery is held."""

    def __init__(self, hold: int) -> None:
        self.hold = hold
        self.arrivals: list[str] = []
        self.answered: list[str] = []
        self.holding = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: Request) -> Reply:
        delivery = request.headers[DELIVERY_HEADER]
        self.arrivals.append(delivery)
        if len(set(self.arrivals)) == self.hold and self.arrivals.count(delivery) == 1:
            self.holding.set()
            self.release.wait(30)
            return json_reply(200, {})  # to a dead connection: never seen
        self.answered.append(delivery)
        return json_reply(200, {})


async def test_killed_mid_delivery_then_restarted_loses_nothing_and_repeats_nothing(
    tmp_path: Path, http_server: Callable[[Responder], HttpServer]
) -> None:
    receiver = HoldingReceiver(hold=3)
    server = http_server(receiver)
    url = sqlite_url(tmp_path)
    async with await Store.open(url) as store:
        await enqueue(store, *(notice(scid=f"800000x{i}x0") for i in range(5)))
    script = tmp_path / "notifier.py"
    script.write_text(CHILD)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        url,
        server.url,
        T0.isoformat(),
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        held = await asyncio.to_thread(receiver.holding.wait, 60)
        assert held, "the child never reached the third delivery"
        os.kill(child.pid, signal.SIGKILL)
        await asyncio.wait_for(child.wait(), 10)
    finally:
        receiver.release.set()
        if child.returncode is None:
            child.kill()
    assert len(receiver.answered) == 2

    async with await Store.open(url) as store:
        async with Notifier(store, _config(server.url)) as notifier:
            assert await notifier.run_once(T0 + timedelta(seconds=30)) != []
            # the held one's lease (60 s) has not run out: not taken yet
            async with monitor_book(store) as book:
                states = Counter(d.state for d in await book.outbox.deliveries())
            assert states == {DeliveryState.DELIVERED: 4, DeliveryState.SENDING: 1}
            await notifier.run_once(T0 + timedelta(seconds=61))
        async with monitor_book(store) as book:
            deliveries = await book.outbox.deliveries()
    assert {d.state for d in deliveries} == {DeliveryState.DELIVERED}
    arrivals = Counter(receiver.arrivals)
    answered = Counter(receiver.answered)
    assert len(answered) == 5 and set(answered.values()) == {1}, "each accepted exactly once"
    repeated = [d for d, n in arrivals.items() if n > 1]
    assert len(repeated) == 1, "only the one in flight at the kill arrived again"
    first_two = receiver.arrivals[:2]
    assert all(arrivals[d] == 1 for d in first_two), "delivered before the crash: never resent"


async def test_a_restart_between_attempts_retries_what_failed_only(
    tmp_path: Path, http_server: Callable[[Responder], HttpServer]
) -> None:
    failing = {"on": True}
    seen: list[str] = []

    def respond(request: Request) -> Reply:
        seen.append(request.json()["alerts"][0]["labels"]["scid"])
        if failing["on"] and request.json()["alerts"][0]["labels"]["scid"] == "800000x1x0":
            return json_reply(503, {})
        return json_reply(200, {})

    server = http_server(respond)
    url = sqlite_url(tmp_path)
    async with await Store.open(url) as store:
        await enqueue(store, notice(scid="800000x0x0"), notice(scid="800000x1x0"))
        async with Notifier(store, _config(server.url)) as notifier:
            await notifier.run_once(T0)
    failing["on"] = False
    started = time.monotonic()
    # a new process would open it the same way
    async with await Store.open(url) as store, Notifier(store, _config(server.url)) as notifier:
        assert await notifier.run_once(T0 + timedelta(seconds=10)) == [], "backoff kept"
        await notifier.run_once(T0 + timedelta(minutes=5))
    assert time.monotonic() - started < 30
    assert seen == ["800000x0x0", "800000x1x0", "800000x1x0"]
