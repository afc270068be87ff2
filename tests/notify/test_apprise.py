"""Apprise (optional) delivering to a real local HTTP server through its ``json://`` service."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lnpilot.notify.config import AppriseReceiver
from lnpilot.notify.senders import AppriseSender, DeliveryError

from .conftest import HttpServer, Reply, Request, Responder, json_reply, notice

pytest.importorskip("apprise")


async def test_apprise_posts_the_title_and_text(
    http_server: Callable[[Responder], HttpServer],
) -> None:
    def ok(request: Request) -> Reply:
        return json_reply(200, {})

    server = http_server(ok)
    url = server.url.replace("http://", "json://") + "/notify"
    receiver = AppriseReceiver.model_validate({"type": "apprise", "urls": [url]})
    await AppriseSender(receiver).send(notice(scid="800000x1x0"), "d1")
    [request] = server.requests
    body = request.json()
    assert body["title"].strip() == "FIRING critical: channel_closed (1)"
    assert "[critical] channel_closed: channel 800000x1x0" in body["message"]


async def test_a_failing_service_is_a_delivery_error(
    http_server: Callable[[Responder], HttpServer],
) -> None:
    server = http_server(lambda request: json_reply(500, {}))
    url = server.url.replace("http://", "json://") + "/notify"
    receiver = AppriseReceiver.model_validate({"type": "apprise", "urls": [url]})
    with pytest.raises(DeliveryError):
        await AppriseSender(receiver).send(notice(), "d1")
