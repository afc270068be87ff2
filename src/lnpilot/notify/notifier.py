"""The notifier: routes the outbox's notices to receivers and delivers them, durably.

Each step commits before the next starts (see :mod:`lnpilot.store.outbox` for why that
means nothing lost and nothing delivered twice):

1. ``dispatch``: each new notice becomes one delivery per receiver its routes name.
2. ``deliver``: due deliveries are checked against their route's rate limit (over the
   limit they are postponed to when a slot frees, not dropped), claimed, sent one
   attempt each, and recorded delivered or failed. A failed attempt is retried with
   exponential backoff (longer when the receiver asks for it), without end: a notice is
   only ever finished by being delivered.

The daemon calls :meth:`Notifier.run_once` often (every few seconds); the timing comes
from ``now`` so tests can run it in virtual time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

import httpx

from lnpilot.notify.config import NotifyConfig, Route
from lnpilot.notify.senders import DeliveryError, Sender, build_sender
from lnpilot.store import Store
from lnpilot.store.alerts import all_match, monitor_book
from lnpilot.store.outbox import Delivery, Notice, Outbox

log = logging.getLogger(__name__)
_HOUR = timedelta(hours=1)


def route_notice(notice: Notice, routes: Sequence[Route]) -> list[tuple[str, str]]:
    """``(route, receiver)`` pairs for ``notice``: routes in order, the first that matches
    wins unless it says ``continue``. Matchers see the notice's common labels and its
    ``severity`` (the highest among what fires)."""
    labels = {**notice.common_labels, "severity": notice.severity.value}
    targets = []
    for route in routes:
        if route.severities and notice.severity not in route.severities:
            continue
        if not all_match(route.matchers(), labels):
            continue
        targets += [(route.name, receiver) for receiver in route.receivers]
        if not route.continue_:
            break
    return targets


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt's outcome; ``error`` is None when the receiver accepted it."""

    delivery_id: int
    route: str
    receiver: str
    attempt: int
    error: str | None = None


class Notifier:
    """Delivers for the receivers in ``config``; ``senders`` replaces the configured ones
    (by receiver name) where a caller has its own. Close it (or use ``async with``) to
    release its HTTP connections."""

    def __init__(
        self,
        store: Store,
        config: NotifyConfig,
        senders: Mapping[str, Sender] | None = None,
    ) -> None:
        self._store = store
        self._config = config
        self._client = httpx.AsyncClient(follow_redirects=False)
        given = dict(senders or {})
        self._senders = {
            name: given.get(name) or build_sender(receiver, self._client)
            for name, receiver in config.receivers.items()
        }
        self._routes = {route.name: route for route in config.routes}
        self._said_no_routes = False

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Notifier:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def run_once(self, now: datetime | None = None) -> list[Attempt]:
        now = now or datetime.now(UTC)
        await self.dispatch(now)
        return await self.deliver(now)

    async def dispatch(self, now: datetime) -> int:
        """Route every notice not routed yet; returns how many were routed."""
        async with monitor_book(self._store, write=True) as book:
            waiting = await book.outbox.undispatched(self._config.delivery.batch)
            for notification_id, notice in waiting:
                targets = route_notice(notice, self._config.routes)
                if not targets:
                    self._say_unrouted(notification_id, notice)
                await book.outbox.dispatch(notification_id, targets, now)
        return len(waiting)

    def _say_unrouted(self, notification_id: int, notice: Notice) -> None:
        """A notice no route takes is recorded and shown, not sent. Without any route that
        is the configuration's intent (the demo, a node watched from the dashboard): said
        once. With routes, a notice that none matches is worth a warning each time."""
        if self._config.routes:
            log.warning(
                "no route matches notice %s (%s, %s): recorded, not sent",
                notification_id,
                notice.group_key,
                notice.status,
            )
        elif not self._said_no_routes:
            self._said_no_routes = True
            log.info("no notification routes are configured: alerts are recorded, not sent")

    async def deliver(self, now: datetime) -> list[Attempt]:
        """Attempt what is due, claiming each delivery just before its attempt: a lease
        then covers one send, never a queue of them, and a crash strands only one."""
        settings = self._config.delivery
        lease_until = now + timedelta(seconds=settings.lease_s)
        async with monitor_book(self._store, write=True) as book:
            allowed = await self._within_limits(
                book.outbox, await book.outbox.due(now, settings.batch), now
            )
        attempts = []
        for delivery in allowed:
            async with monitor_book(self._store, write=True) as book:
                claimed = await book.outbox.claim(delivery, now, lease_until)
            if claimed:
                attempts.append(await self._attempt(delivery, now))
        return attempts

    async def _within_limits(
        self, outbox: Outbox, due: list[Delivery], now: datetime
    ) -> list[Delivery]:
        """What the routes' rate limits let through now; the rest of a limited route is
        postponed to when a slot frees."""
        allowed = []
        by_route: dict[str, list[Delivery]] = {}
        for delivery in due:
            by_route.setdefault(delivery.route, []).append(delivery)
        for route_name, deliveries in by_route.items():
            route = self._routes.get(route_name)
            limit = route.rate_limit_per_hour if route is not None else None
            if limit is None:
                allowed += deliveries
                continue
            recent = await outbox.delivered_after(route_name, now - _HOUR)
            room = max(limit - len(recent), 0)
            allowed += deliveries[:room]
            held = deliveries[room:]
            if held:
                # once the allowed ones are sent the window is full; its oldest entry frees a slot
                window = [*recent, *[now] * min(room, len(deliveries))]
                await outbox.postpone([d.id for d in held], window[len(window) - limit] + _HOUR)
                log.info("route %s at its rate limit: %d postponed", route_name, len(held))
        return allowed

    async def _attempt(self, delivery: Delivery, now: datetime) -> Attempt:
        attempt = delivery.attempts + 1
        assert delivery.notice is not None
        sender = self._senders.get(delivery.receiver)
        try:
            if sender is None:
                raise DeliveryError(
                    f"receiver {delivery.receiver!r} is no longer configured", permanent=True
                )
            await sender.send(delivery.notice, f"lnpilot-{delivery.id}")
        except DeliveryError as exc:
            retry_at = now + self._backoff(attempt, exc)
            level = logging.ERROR if exc.permanent else logging.WARNING
            log.log(level, "delivery %s to %s failed: %s", delivery.id, delivery.receiver, exc)
            async with monitor_book(self._store, write=True) as book:
                await book.outbox.mark_failed(delivery.id, attempt, str(exc), retry_at)
            return Attempt(delivery.id, delivery.route, delivery.receiver, attempt, str(exc))
        async with monitor_book(self._store, write=True) as book:
            await book.outbox.mark_delivered(delivery.id, attempt, now)
        return Attempt(delivery.id, delivery.route, delivery.receiver, attempt)

    def _backoff(self, attempt: int, error: DeliveryError) -> timedelta:
        """Exponential; the maximum at once for permanent errors (they wait for a fix)."""
        s = self._config.delivery
        wait = s.retry_max_s if error.permanent else s.retry_initial_s * 2 ** (attempt - 1)
        wait = min(wait, s.retry_max_s)
        if error.retry_after_s is not None:
            wait = max(wait, error.retry_after_s)
        return timedelta(seconds=wait)

    async def send_test(self, route_name: str | None = None) -> dict[str, str | None]:
        """Send a test notice straight to the receivers of one route (all routes when
        None), bypassing the outbox; returns each receiver's error, None when it worked."""
        routes = list(self._config.routes)
        if route_name is not None:
            if route_name not in self._routes:
                raise ValueError(f"no route {route_name!r}; routes: {sorted(self._routes)}")
            routes = [self._routes[route_name]]
        receivers = dict.fromkeys(r for route in routes for r in route.receivers)
        if route_name is None and not routes:
            receivers = dict.fromkeys(self._senders)
        notice = Notice("test", {}, (), datetime.now(UTC), test=True)
        delivery_id = f"lnpilot-test-{int(notice.created_at.timestamp())}"
        results: dict[str, str | None] = {}
        for name in receivers:
            try:
                await self._senders[name].send(notice, delivery_id)
                results[name] = None
            except DeliveryError as exc:
                results[name] = str(exc)
        return results
