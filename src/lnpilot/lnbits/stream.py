"""Live payment updates over LNbits' websocket, with reconnection and reconciliation.

LNbits pushes ``{"wallet_balance": sat, "payment": {...}}`` on ``/api/v1/ws/{inkey}`` for
each payment event of a wallet. A websocket can drop at any time and updates sent while
it was down are lost on LNbits' side, so after every (re)connect the stream lists the
wallet's recent payments and yields those it has not yet yielded — an update is never
dropped silently. Duplicates are suppressed by (checking id, status).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import websockets

from lnpilot.base.redact import redact_text
from lnpilot.lnbits.errors import LNbitsError, MissingCredentialError
from lnpilot.lnbits.models import Payment
from lnpilot.lnbits.resources.payments import PaymentsResource
from lnpilot.lnbits.retry import RetryPolicy

log = logging.getLogger("lnpilot.lnbits.stream")

WS_PATH = "/api/v1/ws/{item_id}"


@dataclass(frozen=True)
class PaymentUpdate:
    """One payment event; ``reconciled`` when it was found by listing after a gap."""

    payment: Payment
    wallet_balance_sat: int | None
    reconciled: bool = False


class PaymentStream:
    """Async iterators over a wallet's payments or one payment's status."""

    def __init__(
        self,
        base_url: str,
        payments: PaymentsResource,
        invoice_key: str | None,
        *,
        backoff: RetryPolicy | None = None,
        reconcile_limit: int = 100,
    ) -> None:
        self._ws_base = base_url.replace("https://", "wss://").replace("http://", "ws://")
        self._payments = payments
        self._invoice_key = invoice_key
        self.backoff = backoff or RetryPolicy(max_attempts=1_000_000, max_delay_s=10.0)
        self._reconcile_limit = reconcile_limit
        #: Reconnections so far (a health figure for metrics and tests).
        self.reconnects = 0

    async def wallet_payments(
        self, *, since: datetime | None = None, on_connected: Callable[[], None] | None = None
    ) -> AsyncIterator[PaymentUpdate]:
        """Every payment event of the wallet from now (or ``since``) on, forever.

        ``on_connected`` is called once, when the first socket is open: from then on no event
        is missed, so it is the signal to tell a user "watching" or to let a test pay (an
        iterator that has not been advanced has no socket yet).
        """
        if not self._invoice_key:
            raise MissingCredentialError(
                "the payment stream needs the invoice key", method="WS", path=WS_PATH
            )
        seen: set[tuple[str, str]] = set()
        last_time = since
        attempt = 0
        first = True
        while True:
            try:
                url = self._ws_base + WS_PATH.format(item_id=self._invoice_key)
                async with websockets.connect(url, open_timeout=10, ping_interval=20) as ws:
                    if first and on_connected is not None:
                        on_connected()
                    if not first or since is not None:
                        async for update in self._reconcile(seen, last_time):
                            last_time = _later(last_time, update.payment)
                            yield update
                    first = False
                    attempt = 0
                    async for raw in ws:
                        pushed = _parse(raw)
                        if pushed is None:
                            continue
                        key = (pushed.payment.checking_id, pushed.payment.status)
                        if key in seen:
                            continue
                        seen.add(key)
                        last_time = _later(last_time, pushed.payment)
                        yield pushed
            except (OSError, websockets.WebSocketException, LNbitsError, TimeoutError) as exc:
                delay_s = self.backoff.delay_s(attempt)
                log.warning(
                    "payment stream lost (%s); reconnecting in %.1f s",
                    redact_text(type(exc).__name__),
                    delay_s,
                )
                self.reconnects += 1
                attempt += 1
                await asyncio.sleep(delay_s)

    async def _reconcile(
        self, seen: set[tuple[str, str]], last_time: datetime | None
    ) -> AsyncIterator[PaymentUpdate]:
        """Yield, oldest first, listed payments newer than ``last_time`` not yet seen."""
        recent = await self._payments.list(
            limit=self._reconcile_limit, sortby="time", direction="desc", bypass_cache=True
        )
        for payment in reversed(recent):
            when = payment.time or payment.created_at
            if last_time is not None and when is not None and when < last_time:
                continue
            key = (payment.checking_id, payment.status)
            if key in seen:
                continue
            seen.add(key)
            yield PaymentUpdate(payment=payment, wallet_balance_sat=None, reconciled=True)

    async def payment_status(
        self, payment_hash: str, *, on_connected: Callable[[], None] | None = None
    ) -> AsyncIterator[str]:
        """Status words (``pending``, ``success``, ``failed``) pushed for one payment hash.

        Ends when LNbits closes the socket; for a stream that survives reconnections, use
        :meth:`wallet_payments`. ``on_connected`` is called once the socket is open.
        """
        url = self._ws_base + WS_PATH.format(item_id=payment_hash)
        async with websockets.connect(url, open_timeout=10) as ws:
            if on_connected is not None:
                on_connected()
            async for raw in ws:
                try:
                    body = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(body, dict) and "status" in body:
                    yield str(body["status"])


def _parse(raw: str | bytes) -> PaymentUpdate | None:
    try:
        body = json.loads(raw)
    except ValueError:
        log.warning("payment stream: ignored a message that is not JSON")
        return None
    if not isinstance(body, dict) or "payment" not in body:
        return None
    balance = body.get("wallet_balance")
    return PaymentUpdate(
        payment=Payment.model_validate(body["payment"]),
        wallet_balance_sat=int(balance) if balance is not None else None,
    )


def _later(current: datetime | None, payment: Payment) -> datetime | None:
    when = payment.time or payment.created_at
    if when is None:
        return current
    return when if current is None or when > current else current
