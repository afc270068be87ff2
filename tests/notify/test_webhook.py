"""Webhooks to a real HTTP server that checks the HMAC-SHA256 signature and the timestamp,
and the notifier around them: routing, retries with backoff, rate limits, dedup."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from lnpilot.notify import Notifier, NotifyConfig, route_notice
from lnpilot.notify.senders import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from lnpilot.store import Store
from lnpilot.store.alerts import monitor_book
from lnpilot.store.outbox import DeliveryState, Severity

from .conftest import T0, HttpServer, Reply, Request, Responder, enqueue, json_reply, notice

SECRET = "whsec-0c8e1f2d9a"


class Receiver:
    """What a careful receiver does: verify the signature over TIMESTAMP.BODY with the
    shared secret, refuse stale timestamps, and answer as scripted (200 by default)."""

    def __init__(self, script: list[int] | None = None) -> None:
        self.script = list(script or [])
        self.verified: list[Request] = []

    def __call__(self, request: Request) -> Reply:
        timestamp = request.headers[TIMESTAMP_HEADER]
        expected = hmac.new(
            SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(request.headers[SIGNATURE_HEADER], "sha256=" + expected):
            return json_reply(401, {"error": "bad signature"})
        if abs(time.time() - int(timestamp)) > 300:
            return json_reply(401, {"error": "stale"})
        status = self.script.pop(0) if self.script else 200
        if status == 200:
            self.verified.append(request)
        headers = {"Retry-After": "120"} if status == 429 else {}
        return status, headers, b"{}"


def config(url: str, **route: object) -> NotifyConfig:
    return NotifyConfig.model_validate(
        {
            "receivers": {"hook": {"type": "webhook", "url": url, "secret": SECRET}},
            "routes": [{"name": "all", "receivers": ["hook"], **route}],
            "delivery": {"retry_initial_s": 30, "retry_max_s": 600},
        }
    )


async def test_a_signed_json_payload_is_delivered_once(
    store: Store, http_server: Callable[[Responder], HttpServer]
) -> None:
    receiver = Receiver()
    server = http_server(receiver)
    await enqueue(store, notice(scid="800000x1x0", incident_ids=(3,)))
    async with Notifier(store, config(server.url)) as notifier:
        [attempt] = await notifier.run_once(T0)
        assert attempt.error is None
        assert await notifier.run_once(T0 + timedelta(hours=1)) == [], "never sent again"
    [request] = receiver.verified
    body = request.json()
    assert body["status"] == "firing" and body["severity"] == "critical"
    assert body["incidentIds"] == [3]
    assert body["alerts"][0]["labels"]["scid"] == "800000x1x0"
    assert body["alerts"][0]["annotations"]["summary"].startswith("channel 800000x1x0")
    assert request.headers[DELIVERY_HEADER] == body["deliveryId"]


async def test_a_wrong_secret_is_refused_by_the_receiver_and_kept_for_retry(
    store: Store, http_server: Callable[[Responder], HttpServer]
) -> None:
    server = http_server(Receiver())
    wrong = NotifyConfig.model_validate(
        {
            "receivers": {"hook": {"type": "webhook", "url": server.url, "secret": "other-1234"}},
            "routes": [{"name": "all", "receivers": ["hook"]}],
        }
    )
    await enqueue(store, notice())
    async with Notifier(store, wrong) as notifier:
        [attempt] = await notifier.run_once(T0)
    assert attempt.error is not None and "401" in attempt.error
    async with monitor_book(store) as book:
        [delivery] = await book.outbox.deliveries()
    assert delivery.state is DeliveryState.PENDING, "not lost: waits for a fixed secret"


async def test_failures_are_retried_with_exponential_backoff_until_delivered(
    store: Store, http_server: Callable[[Responder], HttpServer]
) -> None:
    receiver = Receiver([500, 503, 500])
    server = http_server(receiver)
    await enqueue(store, notice())
    now = T0
    waits = []
    async with Notifier(store, config(server.url)) as notifier:
        for _ in range(4):
            [attempt] = await notifier.run_once(now)
            async with monitor_book(store) as book:
                [delivery] = await book.outbox.deliveries()
            if attempt.error is None:
                break
            assert await notifier.run_once(now) == [], "not retried before its time"
            waits.append((delivery.next_attempt_at - now).total_seconds())
            now = delivery.next_attempt_at
    assert waits == [30, 60, 120]
    assert delivery.state is DeliveryState.DELIVERED and delivery.attempts == 4
    assert len(receiver.verified) == 1


async def test_retry_after_is_honoured(
    store: Store, http_server: Callable[[Responder], HttpServer]
) -> None:
    server = http_server(Receiver([429]))
    await enqueue(store, notice())
    async with Notifier(store, config(server.url)) as notifier:
        await notifier.run_once(T0)
    async with monitor_book(store) as book:
        [delivery] = await book.outbox.deliveries()
    assert delivery.next_attempt_at - T0 == timedelta(seconds=120)


async def test_a_route_rate_limit_postpones_and_never_drops(
    store: Store, http_server: Callable[[Responder], HttpServer]
) -> None:
    receiver = Receiver()
    server = http_server(receiver)
    await enqueue(store, *(notice(scid=f"800000x{i}x0") for i in range(5)))
    async with Notifier(store, config(server.url, rate_limit_per_hour=2)) as notifier:
        assert len(await notifier.run_once(T0)) == 2
        assert await notifier.run_once(T0 + timedelta(minutes=59)) == []
        assert len(await notifier.run_once(T0 + timedelta(hours=1))) == 2
        assert len(await notifier.run_once(T0 + timedelta(hours=2))) == 1
    scids = sorted(r.json()["alerts"][0]["labels"]["scid"] for r in receiver.verified)
    assert scids == [f"800000x{i}x0" for i in range(5)]


def test_routes_go_by_severity_and_labels_first_match_wins_unless_continue() -> None:
    cfg = NotifyConfig.model_validate(
        {
            "receivers": {
                name: {"type": "webhook", "url": "http://127.0.0.1:9/"}
                for name in ("pager", "chat", "archive")
            },
            "routes": [
                {"name": "archive", "receivers": ["archive"], "continue": True},
                {"name": "critical", "receivers": ["pager"], "severities": ["critical"]},
                {"name": "lnd", "receivers": ["chat"], "match": ["backend=~lnd.*"]},
            ],
        }
    )
    critical = notice(severity=Severity.CRITICAL)
    warning_lnd = notice(severity=Severity.WARNING, rule="node_slow", backend="lnd-rest")
    info = notice(severity=Severity.INFO, rule="channel_utilisation_high")
    assert route_notice(critical, cfg.routes) == [("archive", "archive"), ("critical", "pager")]
    assert route_notice(warning_lnd, cfg.routes) == [("archive", "archive"), ("lnd", "chat")]
    assert route_notice(info, cfg.routes) == [("archive", "archive")]


async def test_one_receiver_named_by_two_routes_gets_one_delivery(
    store: Store, http_server: Callable[[Responder], HttpServer]
) -> None:
    receiver = Receiver()
    server = http_server(receiver)
    cfg = NotifyConfig.model_validate(
        {
            "receivers": {"hook": {"type": "webhook", "url": server.url, "secret": SECRET}},
            "routes": [
                {"name": "a", "receivers": ["hook"], "continue": True},
                {"name": "b", "receivers": ["hook"]},
            ],
        }
    )
    await enqueue(store, notice())
    async with Notifier(store, cfg) as notifier:
        await notifier.run_once(T0)
    assert len(receiver.verified) == 1


async def test_without_routes_notices_are_kept_and_said_once_with_routes_each_is_warned(
    store: Store, http_server: Callable[[Responder], HttpServer], caplog: pytest.LogCaptureFixture
) -> None:
    """No route at all is a choice (a node watched from the dashboard): one INFO line, not
    a warning per alert. With routes, a notice none of them takes is warned about."""
    await enqueue(store, notice(rule="peer_offline"), notice(rule="channel_closed"))
    with caplog.at_level(logging.INFO, logger="lnpilot.notify.notifier"):
        async with Notifier(store, NotifyConfig()) as notifier:
            assert await notifier.run_once(T0) == []
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "no notification routes are configured" in caplog.text

    caplog.clear()
    server = http_server(Receiver())
    await enqueue(store, notice(rule="peer_offline"), notice(rule="channel_closed"))
    with caplog.at_level(logging.INFO, logger="lnpilot.notify.notifier"):
        async with Notifier(store, config(server.url, match=["alertname=fee_drift"])) as notifier:
            assert await notifier.run_once(T0) == []
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and all("recorded, not sent" in m for m in warned)
