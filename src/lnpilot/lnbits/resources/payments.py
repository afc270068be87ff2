"""Payments: invoices, paying without ever paying twice, status, lists, stats, hold invoices.

The no-double-payment rule lives in :meth:`PaymentsResource.pay`:

1. the invoice is decoded locally, so its payment hash is known before anything is sent;
2. pays of the same hash through this client are serialised, and before sending, the
   wallet's payment with that hash is looked up: already paid returns that payment,
   in flight waits for its outcome; only "not found" or "failed" lets a pay go out;
3. the pay request is sent once, never retried by the transport once it may have left;
4. any ambiguous answer (timeout or connection lost after sending, a bare 5xx) is resolved
   by polling the payment by hash until it settles or fails;
5. LNbits' own refusals ("already paid", "still pending", "insufficient balance") speak of
   the invoice, not of this wallet (a racing client of the same wallet may have paid it):
   the wallet's payment is looked up by hash before answering paid or failed;
6. when the deadline passes first, :class:`PaymentOutcomeUnknownError` carries the hash
   and nothing is sent again.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from lnpilot.lnbits import bolt11
from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.errors import (
    InsufficientBalanceError,
    InvalidRequestError,
    LNbitsError,
    NotFoundError,
    PaymentFailedError,
    PaymentOutcomeUnknownError,
    ServerError,
    TransportError,
)
from lnpilot.lnbits.models import (
    DecodedInvoice,
    FeeReserve,
    JsonObject,
    Page,
    Payment,
    PaymentHistoryPoint,
    PaymentStatus,
)
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource, list_params
from lnpilot.lnbits.retry import NO_RETRY
from lnpilot.lnbits.transport import Transport

log = logging.getLogger("lnpilot.lnbits.payments")

NONE, INV, ADM, BEARER = (
    Credential.NONE,
    Credential.INVOICE_KEY,
    Credential.ADMIN_KEY,
    Credential.BEARER,
)
_WRITES = ("payments", "wallet")

CREATE = operation("POST", "/api/v1/payments", INV, idempotent=False, invalidates=_WRITES)
PAY = operation("POST", "/api/v1/payments", ADM, idempotent=False, invalidates=_WRITES, name="pay")
STATUS = operation("GET", "/api/v1/payments/{payment_hash}", INV)
LIST = operation("GET", "/api/v1/payments", INV, cache_scope="payments")
LIST_PAGED = operation("GET", "/api/v1/payments/paginated", INV, cache_scope="payments")
LIST_ALL_PAGED = operation("GET", "/api/v1/payments/all/paginated", BEARER)
HISTORY = operation("GET", "/api/v1/payments/history", INV, cache_scope="payments")
STATS_COUNT = operation("GET", "/api/v1/payments/stats/count", BEARER)
STATS_WALLETS = operation("GET", "/api/v1/payments/stats/wallets", BEARER)
STATS_DAILY = operation("GET", "/api/v1/payments/stats/daily", BEARER)
STATS_BREAKDOWN = operation("GET", "/api/v1/payments/stats/breakdown", INV)
DECODE = operation("POST", "/api/v1/payments/decode", NONE, idempotent=True)
FEE_RESERVE = operation("GET", "/api/v1/payments/fee-reserve", NONE)
SETTLE = operation("POST", "/api/v1/payments/settle", ADM, idempotent=True, invalidates=_WRITES)
CANCEL = operation("POST", "/api/v1/payments/cancel", ADM, idempotent=True, invalidates=_WRITES)
LABELS = operation(
    "PUT", "/api/v1/payments/{payment_hash}/labels", ADM, idempotent=True, invalidates=_WRITES
)
EXTRA = operation("PATCH", "/api/v1/payments/extra", ADM, invalidates=_WRITES)
PAY_WITH_NFC = operation(
    "POST", "/api/v1/payments/{payment_request}/pay-with-nfc", NONE, invalidates=_WRITES
)


PaySender = Callable[[str], Awaitable[Payment | None]]
"""Sends one pay request for a BOLT11 and returns the payment, or None when unknown."""


class PaymentsResource(Resource):
    """Payments of the configured wallet."""

    def __init__(
        self,
        transport: Transport,
        *,
        pay_timeout_s: float = 60.0,
        resolve_deadline_s: float = 60.0,
        resolve_poll_s: float = 0.5,
    ) -> None:
        super().__init__(transport)
        self.pay_timeout_s = pay_timeout_s
        self.resolve_deadline_s = resolve_deadline_s
        self.resolve_poll_s = resolve_poll_s
        self._hash_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    # -- receiving --------------------------------------------------------------------

    async def create_invoice(
        self,
        amount_sat: int,
        *,
        memo: str | None = None,
        expiry_s: int | None = None,
        webhook: str | None = None,
        description_hash: str | None = None,
        unhashed_description: str | None = None,
        extra: JsonObject | None = None,
        labels: builtins.list[str] | None = None,
        external_id: str | None = None,
        payment_hash: str | None = None,
    ) -> Payment:
        """An invoice to receive ``amount_sat``.

        ``payment_hash`` makes it a hold invoice (settled or cancelled later); funding
        sources without hold-invoice support (FakeWallet) refuse it with a clear error.
        """
        if not isinstance(amount_sat, int) or amount_sat < 0:
            raise ValueError(f"amount_sat must be a whole number >= 0, got {amount_sat!r}")
        if expiry_s is not None and expiry_s <= 0:
            raise ValueError(f"expiry_s must be > 0, got {expiry_s}")
        for name, value in (("description_hash", description_hash), ("payment_hash", payment_hash)):
            if value is not None and not _is_hex32(value):
                raise ValueError(f"{name} must be 64 hex characters")
        body: dict[str, Any] = {
            "out": False,
            "amount": amount_sat,
            "unit": "sat",
            "memo": memo,
            "expiry": expiry_s,
            "webhook": webhook,
            "description_hash": description_hash,
            "unhashed_description": unhashed_description,
            "extra": extra,
            "labels": labels,
            "external_id": external_id,
            "payment_hash": payment_hash,
        }
        payload = {k: v for k, v in body.items() if v is not None}
        try:
            answer = await self._t.request(CREATE, json=payload)
        except PaymentFailedError as exc:
            # LNbits answers a refused invoice (amount over its maximum, a wallet that may not
            # receive) with the same final 520 as a failed payment; nothing was paid or even
            # attempted, the request was refused: it is bad input, not a payment failure.
            raise InvalidRequestError(
                f"LNbits refused the invoice: {exc.message}",
                method=CREATE.method,
                path=CREATE.path,
                status=exc.status,
                detail=exc.detail,
            ) from None
        return Payment.model_validate(answer)

    # -- paying -------------------------------------------------------------------------

    async def pay(
        self,
        invoice: str,
        *,
        extra: JsonObject | None = None,
        labels: builtins.list[str] | None = None,
        external_id: str | None = None,
    ) -> Payment:
        """Pay a BOLT11 invoice at most once. See the module docstring for the guarantee.

        Returns the successful payment (the existing one when this wallet already paid
        it). Raises PaymentFailedError / InsufficientBalanceError when it definitely did
        not pay, PaymentOutcomeUnknownError when that cannot be known in time.
        """

        async def send(bolt11_invoice: str) -> Payment | None:
            body = {"out": True, "bolt11": bolt11_invoice, "extra": extra, "labels": labels}
            if external_id is not None:
                body["external_id"] = external_id
            answer = await self._t.request(
                PAY,
                json={k: v for k, v in body.items() if v is not None},
                timeout_s=self.pay_timeout_s,
                retry=NO_RETRY,
            )
            return Payment.model_validate(answer)

        return await self.pay_at_most_once(invoice, send)

    async def pay_at_most_once(self, invoice: str, send: PaySender) -> Payment:
        """The at-most-once machinery shared by every route that pays from this wallet.

        ``send`` sends the pay request once (never retried) and returns LNbits' payment, or
        None when its answer does not say how it ended (then it is resolved by hash). The
        core API and LNDHub's ``payinvoice`` both pay through here, so a second route cannot
        pay an invoice the first one already paid.
        """
        decoded = bolt11.decode(invoice)
        payment_hash = decoded.payment_hash
        if decoded.is_expired():
            raise PaymentFailedError(
                f"invoice expired at {decoded.expires_at.isoformat()}; not sent",
                payment_hash=payment_hash,
                method=PAY.method,
                path=PAY.path,
            )
        async with self._hash_locks[payment_hash]:
            existing = await self._own_outgoing(payment_hash)
            if existing is not None and existing.is_paid:
                log.info("pay skipped: already paid payment_hash=%s", payment_hash)
                return existing
            if existing is not None and existing.is_pending:
                log.info("pay not sent: already in flight payment_hash=%s", payment_hash)
                return await self.resolve(payment_hash)
            try:
                payment = await send(decoded.bolt11)
            except TransportError as exc:
                if not exc.request_sent:
                    raise
                log.warning("pay outcome ambiguous (%s); resolving by hash", type(exc).__name__)
                return await self.resolve(payment_hash)
            except (PaymentFailedError, InsufficientBalanceError) as exc:
                return await self._after_refusal(payment_hash, exc)
            except ServerError as exc:
                if _is_payment_answer(exc):
                    return await self._after_refusal(payment_hash, exc)
                # Any other 5xx (a crash, a gateway's timeout): LNbits may still be paying.
                log.warning("pay got %s; resolving payment_hash=%s", exc.status, payment_hash)
                return await self.resolve(payment_hash)
            if payment is not None and payment.is_paid:
                return payment
            if payment is not None and payment.is_failed:
                raise _failed(payment_hash, "LNbits reports the payment failed")
            return await self.resolve(payment_hash)

    async def _after_refusal(self, payment_hash: str, refusal: LNbitsError) -> Payment:
        """Answer truthfully after LNbits refused this pay request with a complete answer.

        The refusal speaks of the invoice, not of this wallet: a racing client of the same
        wallet (another process, another client object) may have paid it a moment earlier,
        and then LNbits answers "Internal invoice already paid", "Payment already paid" or
        "Insufficient balance" to the loser although the wallet did pay. LNbits writes a
        wallet's outgoing payment before it sends anything and answers only after its
        handler finished, so after such an answer "no payment of this wallet with that hash"
        means this wallet did not pay; anything else is looked up and reported as it is.
        """
        try:
            own = await self._own_outgoing(payment_hash)
        except LNbitsError:
            log.warning("pay refused and lookup failed; resolving payment_hash=%s", payment_hash)
            return await self.resolve(payment_hash)
        if own is not None and own.is_paid:
            log.info("pay refused (%s) but this wallet paid payment_hash=%s", refusal, payment_hash)
            return own
        if own is not None and own.is_pending:
            return await self.resolve(payment_hash)
        if isinstance(refusal, PaymentFailedError):
            refusal.payment_hash = payment_hash
            raise refusal
        if isinstance(refusal, InsufficientBalanceError):
            raise refusal
        raise PaymentFailedError(
            f"{refusal.message}; this wallet holds no payment with hash {payment_hash}, "
            "so it did not pay",
            payment_hash=payment_hash,
            method=PAY.method,
            path=PAY.path,
            status=refusal.status,
            detail=refusal.detail,
        )

    async def outgoing(self, payment_hash: str) -> Payment | None:
        """This wallet's outgoing payment with that hash, or None (one lookup, no waiting)."""
        return await self._own_outgoing(payment_hash)

    async def resolve(self, payment_hash: str, *, deadline_s: float | None = None) -> Payment:
        """Wait until this wallet's payment ``payment_hash`` is settled or failed.

        Never sends a payment. Settled: returns it. Failed: raises PaymentFailedError.
        Not known or still pending at the deadline: PaymentOutcomeUnknownError.
        """
        deadline = time.monotonic() + (deadline_s or self.resolve_deadline_s)
        last_seen = "not found"
        poll_s = self.resolve_poll_s
        while True:
            try:
                payment = await self._own_outgoing(payment_hash)
            except LNbitsError as exc:  # the server may still be struggling: keep asking
                payment, last_seen = None, f"lookup failed ({type(exc).__name__})"
            if payment is not None:
                if payment.is_paid:
                    return payment
                if payment.is_failed:
                    raise _failed(payment_hash, "payment failed")
                last_seen = "pending"
            if time.monotonic() + poll_s > deadline:
                raise PaymentOutcomeUnknownError(
                    f"outcome of payment {payment_hash} unknown after "
                    f"{deadline_s or self.resolve_deadline_s:.0f} s (last seen: {last_seen}); "
                    "it was not sent again — look it up by hash later",
                    payment_hash=payment_hash,
                    method=PAY.method,
                    path=PAY.path,
                )
            await asyncio.sleep(poll_s)
            poll_s = min(poll_s * 1.5, 5.0)

    async def _own_outgoing(self, payment_hash: str) -> Payment | None:
        """This wallet's outgoing payment with that hash, or None when there is none."""
        try:
            status = await self.status(payment_hash)
        except NotFoundError:
            return None
        details = status.details
        if details is None or not details.is_outgoing:
            return None
        if status.state != details.status:
            details = details.model_copy(update={"status": status.state})
        return details

    async def pay_with_nfc(self, payment_request: str, lnurl_withdraw: JsonObject) -> JsonObject:
        """Pay an invoice of this LNbits from an LNURL-withdraw card (no key needed)."""
        result: JsonObject = await self._t.request(
            PAY_WITH_NFC,
            path_params={"payment_request": payment_request},
            json={"lnurl_withdraw": lnurl_withdraw},
        )
        return result

    # -- hold invoices -----------------------------------------------------------------

    async def settle(self, preimage: str) -> JsonObject:
        """Settle a hold invoice with its preimage (admin key)."""
        if not _is_hex32(preimage):
            raise ValueError("preimage must be 64 hex characters")
        result: JsonObject = await self._t.request(SETTLE, json={"preimage": preimage})
        return result

    async def cancel(self, payment_hash: str) -> JsonObject:
        """Cancel a hold invoice (admin key)."""
        if not _is_hex32(payment_hash):
            raise ValueError("payment_hash must be 64 hex characters")
        result: JsonObject = await self._t.request(CANCEL, json={"payment_hash": payment_hash})
        return result

    # -- reading -------------------------------------------------------------------------

    async def status(self, payment_hash: str) -> PaymentStatus:
        """Paid or not, with details when the configured wallet owns the payment."""
        if not _is_hex32(payment_hash):
            raise ValueError("payment_hash must be 64 hex characters")
        body = await self._t.request(STATUS, path_params={"payment_hash": payment_hash})
        return PaymentStatus.model_validate(body)

    async def list(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        sortby: str | None = None,
        direction: str | None = None,
        search: str | None = None,
        filters: dict[str, Any] | None = None,
        bypass_cache: bool = False,
    ) -> builtins.list[Payment]:
        """Payments of the wallet, newest first unless sorted otherwise."""
        params = list_params(
            limit=limit,
            offset=offset,
            sortby=sortby,
            direction=direction,
            search=search,
            filters=filters,
        )
        body = await self._t.request(LIST, params=params, bypass_cache=bypass_cache)
        return [Payment.model_validate(p) for p in body]

    async def list_paginated(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        sortby: str | None = None,
        direction: str | None = None,
        search: str | None = None,
        filters: dict[str, Any] | None = None,
        bypass_cache: bool = False,
    ) -> Page[Payment]:
        params = list_params(
            limit=limit,
            offset=offset,
            sortby=sortby,
            direction=direction,
            search=search,
            filters=filters,
        )
        body = await self._t.request(LIST_PAGED, params=params, bypass_cache=bypass_cache)
        return Page[Payment].model_validate(body)

    async def list_all_paginated(
        self, *, limit: int = 50, offset: int = 0, filters: dict[str, Any] | None = None
    ) -> Page[Payment]:
        """Payments of every wallet of the logged-in user (bearer)."""
        params = list_params(limit=limit, offset=offset, filters=filters)
        return Page[Payment].model_validate(await self._t.request(LIST_ALL_PAGED, params=params))

    async def history(self, *, group: str = "day") -> builtins.list[PaymentHistoryPoint]:
        """Income, spending and balance per ``group`` (hour, day, week, month)."""
        if group not in ("hour", "day", "week", "month", "year"):
            raise ValueError(f"group must be hour, day, week, month or year, got {group!r}")
        body = await self._t.request(HISTORY, params={"group": group})
        return [PaymentHistoryPoint.model_validate(p) for p in body]

    async def stats_count(self, *, count_by: str = "tag") -> builtins.list[JsonObject]:
        """Payment counts grouped by a field (tag, extension, status, wallet_id)."""
        result: builtins.list[JsonObject] = await self._t.request(
            STATS_COUNT, params={"count_by": count_by}
        )
        return result

    async def stats_wallets(self) -> builtins.list[JsonObject]:
        result: builtins.list[JsonObject] = await self._t.request(STATS_WALLETS)
        return result

    async def stats_daily(self) -> builtins.list[JsonObject]:
        result: builtins.list[JsonObject] = await self._t.request(STATS_DAILY)
        return result

    async def stats_breakdown(self) -> JsonObject:
        result: JsonObject = await self._t.request(STATS_BREAKDOWN)
        return result

    async def decode(self, invoice: str) -> DecodedInvoice:
        """LNbits' decode of a BOLT11 (for a local decode see :mod:`lnpilot.lnbits.bolt11`)."""
        body = await self._t.request(DECODE, json={"data": invoice})
        if isinstance(body, dict) and "message" in body and "payment_hash" not in body:
            raise InvalidRequestError(str(body["message"]), method="POST", path=DECODE.path)
        return DecodedInvoice.model_validate(body)

    async def fee_reserve(self, invoice: str) -> int:
        """The fee reserve (msat) LNbits holds back when paying this invoice."""
        body = await self._t.request(FEE_RESERVE, params={"invoice": invoice})
        return FeeReserve.model_validate(body).fee_reserve_msat

    async def set_labels(self, payment_hash: str, labels: builtins.list[str]) -> JsonObject:
        result: JsonObject = await self._t.request(
            LABELS, path_params={"payment_hash": payment_hash}, json={"labels": labels}
        )
        return result

    async def add_extra(self, payment_hash: str, extra: JsonObject) -> Payment:
        """Append metadata to a successful payment (existing keys are refused by LNbits)."""
        body = await self._t.request(EXTRA, json={"payment_hash": payment_hash, "extra": extra})
        return Payment.model_validate(body)


def _is_hex32(value: str) -> bool:
    if len(value) != 64:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def _is_payment_answer(exc: ServerError) -> bool:
    """LNbits' own answer to a refused payment (its 520 with a ``status``), not a crash.

    Such an answer comes after LNbits' pay handler finished; a bare 5xx may come from a
    proxy while LNbits is still paying.
    """
    return exc.status == 520 and isinstance(exc.detail, dict) and "status" in exc.detail


def _failed(payment_hash: str, message: str) -> PaymentFailedError:
    return PaymentFailedError(
        f"{message} (payment_hash {payment_hash})",
        payment_hash=payment_hash,
        method=PAY.method,
        path=PAY.path,
    )
