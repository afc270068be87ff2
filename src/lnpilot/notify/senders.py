"""One sender per medium: each takes a notice and a delivery id and either hands the
message to its receiver or raises :class:`DeliveryError` saying whether trying again can
help. Retrying is the outbox's job (:mod:`lnpilot.notify.notifier`), not theirs: one
attempt per call keeps "what was sent" in one place, the store.

The delivery id travels with every message (``Message-ID`` for email, the
``X-Lnpilot-Delivery`` header for webhooks) so a receiver can recognise the one repeat a
crash at the wrong moment can cause. Error texts are redacted: a Telegram URL holds the
bot token, an SMTP error may echo a login.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib
import httpx

from lnpilot.base.redact import redact_text
from lnpilot.base.retry import parse_retry_after
from lnpilot.notify import render
from lnpilot.notify.config import (
    AppriseReceiver,
    EmailReceiver,
    Receiver,
    TelegramReceiver,
    WebhookReceiver,
)
from lnpilot.store.outbox import Notice

SIGNATURE_HEADER = "X-Lnpilot-Signature"
TIMESTAMP_HEADER = "X-Lnpilot-Timestamp"
DELIVERY_HEADER = "X-Lnpilot-Delivery"
_USER_AGENT = "lnpilot-notify"


class DeliveryError(Exception):
    """An attempt failed. ``permanent``: the same request will fail again until the
    configuration changes (bad token, unknown chat, 4xx); ``retry_after_s``: the receiver
    asked to wait that long (HTTP 429 and ``Retry-After``)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after_s: float | None = None
    ) -> None:
        super().__init__(redact_text(message))
        self.permanent = permanent
        self.retry_after_s = retry_after_s


class Sender(Protocol):
    async def send(self, notice: Notice, delivery_id: str) -> None: ...


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The webhook signature: ``sha256=`` and the hex HMAC-SHA256 of ``TIMESTAMP.BODY``.

    Signing the timestamp with the body lets a receiver refuse replays of old messages.
    """
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class EmailSender:
    def __init__(self, receiver: EmailReceiver) -> None:
        self._r = receiver

    def message(self, notice: Notice, delivery_id: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._r.sender
        msg["To"] = ", ".join(self._r.to)
        msg["Subject"] = render.subject(notice, self._r.subject_prefix)
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        domain = self._r.sender.rpartition("@")[2] or "lnpilot.invalid"
        msg["Message-ID"] = f"<{delivery_id}@{domain}>"
        msg.set_content(render.text(notice))
        if notice.file is not None:
            main, _, sub = notice.file.content_type.partition("/")
            msg.add_attachment(
                notice.file.content, maintype=main, subtype=sub, filename=notice.file.filename
            )
        return msg

    async def send(self, notice: Notice, delivery_id: str) -> None:
        r = self._r
        context = ssl.create_default_context(cafile=str(r.ca_file) if r.ca_file else None)
        try:
            await aiosmtplib.send(
                self.message(notice, delivery_id),
                hostname=r.host,
                port=r.port,
                username=r.username,
                password=r.password.get_secret_value() if r.password else None,
                use_tls=r.security == "tls",
                start_tls=r.security == "starttls",
                tls_context=context if r.security != "none" else None,
                timeout=r.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP refused the recipients: {exc}", permanent=True) from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login refused: {exc.code}", permanent=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP error {exc.code}: {exc.message}", permanent=500 <= exc.code < 600
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {type(exc).__name__}: {exc}") from None


def _http_error(status: int, detail: str, retry_after: str | None) -> DeliveryError:
    """4xx other than 408 and 429 will not get better by waiting; the rest may."""
    wait = parse_retry_after(retry_after)
    permanent = 400 <= status < 500 and status not in (408, 429)
    return DeliveryError(f"HTTP {status}: {detail[:200]}", permanent=permanent, retry_after_s=wait)


class TelegramSender:
    """``POST {base_url}/bot{token}/sendMessage``; the answer is ``{"ok": true, "result":
    Message}`` or ``{"ok": false, "error_code", "description", "parameters":
    {"retry_after"}}``, as the Bot API documents."""

    def __init__(self, receiver: TelegramReceiver, client: httpx.AsyncClient) -> None:
        self._r = receiver
        self._client = client

    async def send(self, notice: Notice, delivery_id: str) -> None:
        r = self._r
        url = f"{str(r.base_url).rstrip('/')}/bot{r.bot_token.get_secret_value()}/sendMessage"
        body = {
            "chat_id": r.chat_id,
            "text": render.telegram_html(notice),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
            "disable_notification": notice.severity.rank < r.loud_from.rank,
        }
        try:
            response = await self._client.post(url, json=body, timeout=r.timeout_s)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Telegram unreachable: {type(exc).__name__}: {exc}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.is_success and answer.get("ok") is True:
            return
        retry_after = (answer.get("parameters") or {}).get("retry_after")
        raise _http_error(
            response.status_code,
            str(answer.get("description") or response.text),
            None if retry_after is None else str(retry_after),
        )


class WebhookSender:
    def __init__(self, receiver: WebhookReceiver, client: httpx.AsyncClient) -> None:
        self._r = receiver
        self._client = client

    async def send(self, notice: Notice, delivery_id: str) -> None:
        r = self._r
        body = json.dumps(
            render.webhook_payload(notice, delivery_id), separators=(",", ":"), sort_keys=True
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            **r.headers,
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
            TIMESTAMP_HEADER: timestamp,
            DELIVERY_HEADER: delivery_id,
        }
        if r.secret is not None:
            headers[SIGNATURE_HEADER] = sign(r.secret.get_secret_value().encode(), timestamp, body)
        try:
            response = await self._client.post(
                str(r.url), content=body, headers=headers, timeout=r.timeout_s
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}: {exc}") from None
        if not response.is_success:
            raise _http_error(
                response.status_code, response.text, response.headers.get("Retry-After")
            )


class AppriseSender:
    """Apprise is optional: it is imported when such a receiver is configured."""

    def __init__(self, receiver: AppriseReceiver) -> None:
        try:
            import apprise
        except ImportError:
            raise RuntimeError(
                "an apprise receiver needs Apprise: pip install 'lnpilot[apprise]'"
            ) from None
        self._apprise = apprise.Apprise()
        self._format = apprise.NotifyFormat.TEXT
        for url in receiver.urls:
            if not self._apprise.add(url.get_secret_value()):
                raise ValueError("Apprise does not understand one of the configured URLs")

    async def send(self, notice: Notice, delivery_id: str) -> None:
        ok = await self._apprise.async_notify(
            body=render.text(notice), title=render.subject(notice, ""), body_format=self._format
        )
        if not ok:
            raise DeliveryError("Apprise could not deliver to every URL")


def build_sender(receiver: Receiver, client: httpx.AsyncClient) -> Sender:
    """The sender for a configured receiver; HTTP ones share ``client``."""
    if isinstance(receiver, EmailReceiver):
        return EmailSender(receiver)
    if isinstance(receiver, TelegramReceiver):
        return TelegramSender(receiver, client)
    if isinstance(receiver, WebhookReceiver):
        return WebhookSender(receiver, client)
    return AppriseSender(receiver)
