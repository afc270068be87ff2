"""Telegram through a local HTTP server that implements the Bot API's ``sendMessage``.

No real Telegram can run here, so this double is built from the Bot API documentation's
request and response shapes: ``POST /bot<token>/sendMessage`` with a JSON body
(``chat_id``, ``text``, ``parse_mode``, ``disable_notification``,
``link_preview_options``); answers ``{"ok": true, "result": Message}`` on success and
``{"ok": false, "error_code", "description", "parameters": {"retry_after"}}`` on failure
(401 "Unauthorized" for a bad token, 400 "Bad Request: chat not found", 429 "Too Many
Requests: retry after N"). With ``parse_mode=HTML`` it checks what Telegram checks: only
its supported tags, properly nested, and entities escaped, within 4096 characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import httpx
import pytest

from lnpilot.notify.config import TelegramReceiver
from lnpilot.notify.render import TELEGRAM_MAX_CHARS
from lnpilot.notify.senders import DeliveryError, TelegramSender
from lnpilot.store.outbox import Notice, Severity

from .conftest import HttpServer, Reply, Request, Responder, json_reply, notice

TOKEN = "123456:AAH-test-token-9f8e7d"
CHAT_ID = 4242
_ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}


class _Parsed(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            self.problems.append(f"Unsupported start tag {tag!r}")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"Can't find end tag corresponding to start tag {tag!r}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


class BotApi:
    """The Bot API's ``sendMessage`` as documented (see module docstring)."""

    def __init__(self, flood_wait_s: int | None = None) -> None:
        self.messages: list[dict[str, object]] = []
        self.flood_wait_s = flood_wait_s

    def __call__(self, request: Request) -> Reply:
        found = re.fullmatch(r"/bot([^/]+)/sendMessage", request.path)
        if found is None:
            return json_reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if found[1] != TOKEN:
            return json_reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if self.flood_wait_s is not None:
            wait = self.flood_wait_s
            return json_reply(
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                },
            )
        body = request.json()
        if body.get("chat_id") != CHAT_ID:
            return json_reply(
                400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            )
        parsed = _Parsed()
        if body.get("parse_mode") == "HTML":
            parsed.feed(body["text"])
            parsed.close()
            if parsed.stack:
                parsed.problems.append("Unclosed tags")
        text = "".join(parsed.text) if body.get("parse_mode") == "HTML" else body["text"]
        if parsed.problems or not text or len(text) > TELEGRAM_MAX_CHARS:
            description = "Bad Request: can't parse entities: " + "; ".join(parsed.problems)
            return json_reply(400, {"ok": False, "error_code": 400, "description": description})
        self.messages.append({**body, "plain": text})
        result = {
            "message_id": len(self.messages),
            "date": 1_740_830_400,
            "chat": {"id": CHAT_ID, "type": "private"},
            "text": text,
        }
        return json_reply(200, {"ok": True, "result": result})


def receiver(url: str, token: str = TOKEN, chat_id: int = CHAT_ID) -> TelegramReceiver:
    return TelegramReceiver.model_validate(
        {"type": "telegram", "bot_token": token, "chat_id": chat_id, "base_url": url}
    )


async def send(
    server: HttpServer, sent: Notice, token: str = TOKEN, chat_id: int = CHAT_ID
) -> None:
    async with httpx.AsyncClient() as client:
        await TelegramSender(receiver(server.url, token, chat_id), client).send(sent, "d1")


async def test_a_notice_arrives_as_valid_html_with_escaped_text(
    http_server: Callable[[Responder], HttpServer],
) -> None:
    api = BotApi()
    server = http_server(api)
    await send(server, notice(scid="800000x1x0", incident_ids=(5,)))
    [message] = api.messages
    assert message["parse_mode"] == "HTML" and message["disable_notification"] is False
    plain = str(message["plain"])
    assert "FIRING channel_closed" in plain
    assert "channel 800000x1x0 with <alice> was closed" in plain, "escaped, shown as typed"
    assert "lnpilot incident 5" in plain


async def test_info_notices_arrive_silently(http_server: Callable[[Responder], HttpServer]) -> None:
    api = BotApi()
    await send(http_server(api), notice(severity=Severity.INFO))
    assert api.messages[0]["disable_notification"] is True


async def test_a_huge_group_is_cut_to_the_limit_and_still_parses(
    http_server: Callable[[Responder], HttpServer],
) -> None:
    api = BotApi()
    one = notice(summary="x" * 300)
    many = Notice(
        one.group_key,
        one.group_labels,
        tuple(a for _ in range(40) for a in one.alerts),
        one.created_at,
    )
    await send(http_server(api), many)
    assert "… and" in str(api.messages[0]["plain"])


async def test_a_bad_token_is_permanent_and_never_shown(
    http_server: Callable[[Responder], HttpServer],
) -> None:
    server = http_server(BotApi())
    with pytest.raises(DeliveryError) as caught:
        await send(server, notice(), token="999:wrong-token-abcdef")
    assert caught.value.permanent and "401" in str(caught.value)
    assert "wrong-token-abcdef" not in str(caught.value)


async def test_flood_control_asks_to_wait(http_server: Callable[[Responder], HttpServer]) -> None:
    with pytest.raises(DeliveryError) as caught:
        await send(http_server(BotApi(flood_wait_s=7)), notice())
    assert not caught.value.permanent and caught.value.retry_after_s == 7


async def test_unknown_chat_is_permanent(http_server: Callable[[Responder], HttpServer]) -> None:
    with pytest.raises(DeliveryError) as caught:
        await send(http_server(BotApi()), notice(), chat_id=1)
    assert caught.value.permanent and "chat not found" in str(caught.value)
