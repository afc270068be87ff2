"""LNURL through LNbits: scan a code, pay an LNURL-pay or Lightning address, log in (auth).

LNbits does every fetch from the LNURL service itself (with its own guards: HTTPS only
except for private addresses it was told to allow, callback URL rules), so lnpilot sends the
code and never talks to the service. Three things are decided here on purpose:

* a code is checked locally first (``lnurl1…`` bech32, ``lnurlp://``/``lnurlw://``/
  ``keyauth://`` (LUD-17), ``https://``, or a Lightning address ``user@domain``), so a typo is
  a clear :class:`ValueError` naming the forms allowed, not a 400 from LNbits;
* :meth:`LnurlResource.pay` scans first and sends LNbits the scanned pay request (``res``)
  rather than the code, so the amount bounds checked here are the ones LNbits pays against,
  and an amount out of bounds is refused before anything is sent;
* a pay request is sent once and never retried. The invoice, hence its payment hash, is
  fetched by LNbits, so an ambiguous answer (timeout, connection lost, a bare 5xx) cannot be
  resolved by a hash known in advance as ``payments.pay`` does: the wallet's outgoing
  payments since the request are searched for the one LNbits made for it (same amount, memo
  equal to the pay request's text), then that hash is resolved like any payment. Not found
  by the deadline: :class:`PaymentOutcomeUnknownError`, and nothing is sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from lnpilot.base import bech32
from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.errors import (
    InvalidRequestError,
    NotFoundError,
    PaymentFailedError,
    PaymentOutcomeUnknownError,
    ServerError,
    TransportError,
)
from lnpilot.lnbits.models import JsonObject, LNbitsModel, Payment
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource
from lnpilot.lnbits.resources.payments import PaymentsResource
from lnpilot.lnbits.retry import NO_RETRY
from lnpilot.lnbits.transport import Transport

log = logging.getLogger("lnpilot.lnbits.lnurl")

_WRITES = ("payments", "wallet")

#: POST, not the deprecated ``GET /api/v1/lnurlscan/{code}``: same answer, and a code (which
#: may carry a k1 secret) stays out of URLs and access logs. A scan changes nothing: safe to retry.
SCAN = operation("POST", "/api/v1/lnurlscan", Credential.INVOICE_KEY, idempotent=True)
PAY = operation(
    "POST", "/api/v1/payments/lnurl", Credential.ADMIN_KEY, idempotent=False, invalidates=_WRITES
)
#: LNbits' own LUD-16 endpoint for its wallets' Lightning addresses: public, no key.
LIGHTNING_ADDRESS = operation("GET", "/.well-known/lnurlp/{username}", Credential.NONE)
#: Signs the service's k1 with a key derived from this wallet's admin key: admin key only.
AUTH = operation("POST", "/api/v1/lnurlauth", Credential.ADMIN_KEY, idempotent=False)

#: LUD-16: lowercase letters, digits and ``-_.+`` before the ``@``, a domain with a TLD after.
_LN_ADDRESS = re.compile(r"[a-z0-9._+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}")
_URL_SCHEMES = ("lnurlp://", "lnurlw://", "lnurlc://", "keyauth://", "https://", "http://")
ALLOWED_FORMS = (
    "an LNURL (lnurl1…), an LNURL URL (lnurlp://, lnurlw://, keyauth://, https://) "
    "or a Lightning address (user@domain)"
)


def normalize_code(code: str) -> str:
    """The code as LNbits accepts it, or ValueError saying what is wrong and what is allowed.

    ``lightning:`` is stripped (QR codes carry it); a bech32 LNURL must decode to a URL.
    Lightning addresses are lowercased before the ``@``, as LUD-16 requires.
    """
    text = code.strip()
    if text.lower().startswith("lightning:"):
        text = text[len("lightning:") :]
    if not text:
        raise ValueError(f"empty LNURL; expected {ALLOWED_FORMS}")
    if text.lower().startswith("lnurl1"):
        decode_lnurl(text)
        return text.lower()
    if "@" in text:
        name, _, domain = text.partition("@")
        address = f"{name.lower()}@{domain}"
        if _LN_ADDRESS.fullmatch(address) is None:
            raise ValueError(
                f"{text!r} is not a Lightning address: expected user@domain with a-z, 0-9, "
                "'-', '_', '.' before the @ and a domain such as example.com after it"
            )
        return address
    if text.lower().startswith(_URL_SCHEMES):
        return text
    raise ValueError(f"{text[:40]!r} is not an LNURL; expected {ALLOWED_FORMS}")


def is_lnurl(text: str) -> bool:
    """Whether ``text`` is meant as an LNURL or Lightning address rather than an invoice.

    A shape test only (valid or not is :func:`normalize_code`'s job), so that a mistyped
    LNURL gets the LNURL error, not "not a BOLT11 invoice".
    """
    value = text.strip().lower().removeprefix("lightning:")
    return value.startswith(("lnurl", *_URL_SCHEMES)) or "@" in value


def decode_lnurl(code: str) -> str:
    """The URL a bech32 ``lnurl1…`` code stands for (LUD-01), or ValueError."""
    try:
        hrp, words = bech32.decode(code.strip())
    except bech32.Bech32Error as exc:
        raise ValueError(f"not a valid bech32 LNURL: {exc}") from None
    if hrp != "lnurl":
        raise ValueError(f"a bech32 LNURL starts with 'lnurl1', got prefix {hrp!r}")
    try:
        url = bytes(bech32.convert_bits(words, 5, 8, False)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the LNURL does not decode to a URL") from None
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"the LNURL decodes to {url[:40]!r}, not an http(s) URL")
    return url


def encode_lnurl(url: str) -> str:
    """The bech32 ``lnurl1…`` code for a URL (LUD-01); the inverse of :func:`decode_lnurl`."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"an LNURL encodes an http(s) URL, got {url[:40]!r}")
    return bech32.encode("lnurl", bech32.convert_bits(url.encode("utf-8"), 8, 5, True))


class LnurlPay(LNbitsModel):
    """An LNURL-pay request (LUD-06): what the service accepts, in msat."""

    kind: Literal["pay"] = "pay"
    callback: str
    min_sendable_msat: int = Field(alias="minSendable")
    max_sendable_msat: int = Field(alias="maxSendable")
    metadata: str
    comment_allowed: int = Field(default=0, alias="commentAllowed")
    #: The answer as LNbits gave it: sent back as ``res`` when paying.
    raw: JsonObject = Field(default_factory=dict, exclude=True)

    @property
    def description(self) -> str:
        """The ``text/plain`` entry of the metadata (what a wallet shows), or ''."""
        return _metadata_entry(self.metadata, "text/plain")

    @property
    def identifier(self) -> str | None:
        """The Lightning address the service names itself by (``text/identifier``), if any."""
        return _metadata_entry(self.metadata, "text/identifier") or None


class LnurlWithdraw(LNbitsModel):
    """An LNURL-withdraw offer (LUD-03), in msat."""

    kind: Literal["withdraw"] = "withdraw"
    callback: str
    k1: str = Field(repr=False)
    min_withdrawable_msat: int = Field(alias="minWithdrawable")
    max_withdrawable_msat: int = Field(alias="maxWithdrawable")
    default_description: str = Field(default="", alias="defaultDescription")


class LnurlAuth(LNbitsModel):
    """An LNURL-auth login challenge (LUD-04)."""

    kind: Literal["auth"] = "auth"
    callback: str
    k1: str = Field(repr=False)
    #: The domain the login is for: the key signing it is derived per domain.
    domain: str = ""


class LnurlChannel(LNbitsModel):
    """An LNURL-channel offer (LUD-02): a node that would open a channel to us."""

    kind: Literal["channel"] = "channel"
    uri: str
    callback: str
    k1: str = Field(repr=False)


LnurlScan = LnurlPay | LnurlWithdraw | LnurlAuth | LnurlChannel


def scan_result(answer: JsonObject) -> LnurlScan:
    """The typed scan result for LNbits' answer, by its LUD ``tag``."""
    tag = answer.get("tag")
    if tag == "payRequest":
        return LnurlPay.model_validate(answer).model_copy(update={"raw": answer})
    if tag == "withdrawRequest":
        return LnurlWithdraw.model_validate(answer)
    if tag == "login":
        callback = str(answer.get("callback", ""))
        domain = re.sub(r"^[a-z]+://", "", callback).split("/", 1)[0]
        return LnurlAuth.model_validate({**answer, "domain": domain})
    if tag == "channelRequest":
        return LnurlChannel.model_validate(answer)
    raise ValueError(f"LNbits answered an LNURL of unknown tag {tag!r}")


class LnurlResource(Resource):
    """LNURL operations of the configured wallet."""

    def __init__(self, transport: Transport, payments: PaymentsResource) -> None:
        super().__init__(transport)
        self._payments = payments

    async def scan(self, code: str) -> LnurlScan:
        """What an LNURL or Lightning address offers, as LNbits fetched it (invoice key)."""
        answer = await self._t.request(SCAN, json={"lnurl": normalize_code(code)})
        return scan_result(answer)

    async def lightning_address(self, username: str) -> LnurlPay:
        """The pay request this LNbits serves for one of its wallets' Lightning addresses.

        What a payer's wallet fetches for ``username@this-lnbits``: lets an operator check an
        address works before handing it out. LNbits answers an unknown name with HTTP 200 and
        ``{"status": "ERROR"}``: that is raised as NotFoundError with LNbits' reason.
        """
        if not re.fullmatch(r"[a-z0-9._+-]{1,210}", username):
            raise ValueError(
                f"{username!r} is not a Lightning address name: lowercase a-z, 0-9, "
                "'-', '_', '.' (and '+tag'), without the @domain"
            )
        answer = await self._t.request(LIGHTNING_ADDRESS, path_params={"username": username})
        if isinstance(answer, dict) and str(answer.get("status", "")).upper() == "ERROR":
            raise NotFoundError(
                f"{username}: {answer.get('reason', 'not found')}",
                method=LIGHTNING_ADDRESS.method,
                path=LIGHTNING_ADDRESS.path,
                status=200,
                detail=answer,
            )
        scanned = scan_result(answer)
        if not isinstance(scanned, LnurlPay):
            raise ValueError(f"LNbits answered an LNURL-{scanned.kind} for a Lightning address")
        return scanned

    async def pay(
        self, code_or_request: str | LnurlPay, amount_msat: int, *, comment: str | None = None
    ) -> Payment:
        """Pay ``amount_msat`` to an LNURL-pay / Lightning address, sending at most once.

        Give the :class:`LnurlPay` from :meth:`scan` to pay exactly what was shown to the
        operator; a code is scanned first. Raises ValueError (nothing sent) for an amount out
        of the service's bounds or a comment it does not accept; PaymentFailedError /
        InsufficientBalanceError when it did not pay; PaymentOutcomeUnknownError when that
        cannot be known in time.
        """
        request = (
            code_or_request
            if isinstance(code_or_request, LnurlPay)
            else await self._pay_request(code_or_request)
        )
        if not request.raw:
            raise ValueError("pay an LnurlPay returned by scan(): it carries LNbits' own answer")
        check_amount(request, amount_msat)
        if comment and len(comment) > request.comment_allowed:
            raise ValueError(
                f"comment is {len(comment)} characters; this service accepts at most "
                f"{request.comment_allowed}"
            )
        body: dict[str, Any] = {"res": request.raw, "amount": amount_msat, "unit": "sat"}
        if comment:
            body["comment"] = comment
        sent_at = datetime.now(UTC)
        try:
            answer = await self._t.request(
                PAY, json=body, timeout_s=self._payments.pay_timeout_s, retry=NO_RETRY
            )
        except TransportError as exc:
            if not exc.request_sent:
                raise
            log.warning("lnurl pay outcome ambiguous (%s); searching", type(exc).__name__)
            return await self._find_and_resolve(request, amount_msat, sent_at)
        except ServerError as exc:
            # LNbits' final refusals arrive as PaymentFailedError/InsufficientBalanceError;
            # any other 5xx (a crash, a proxy's timeout) may come while LNbits still pays.
            log.warning("lnurl pay got %s; searching for the payment", exc.status)
            return await self._find_and_resolve(request, amount_msat, sent_at)
        payment = Payment.model_validate(answer)
        if payment.is_paid:
            return payment
        if payment.is_failed:
            raise PaymentFailedError(
                f"LNbits reports the payment failed (payment_hash {payment.payment_hash})",
                payment_hash=payment.payment_hash,
                method=PAY.method,
                path=PAY.path,
            )
        return await self._payments.resolve(payment.payment_hash)

    async def auth(self, code_or_challenge: str | LnurlAuth) -> None:
        """Log in to an LNURL-auth service with this wallet's derived key (admin key).

        LNbits signs the service's k1 and calls its callback. Beware: LNbits 1.6.2 answers
        ``{}`` whether the service accepted the login or refused it (the service's
        ``{"status": "ERROR", "reason": …}`` is lost in LNbits' serialisation), so a return
        means "sent and signed", not "accepted"; check on the service's side. Should LNbits
        pass the refusal on, it is raised as InvalidRequestError with the service's reason.
        """
        challenge = code_or_challenge
        if not isinstance(challenge, LnurlAuth):
            scanned = await self.scan(challenge)
            if not isinstance(scanned, LnurlAuth):
                raise ValueError(f"this LNURL is an LNURL-{scanned.kind}, not an LNURL-auth")
            challenge = scanned
        body = {"tag": "login", "callback": challenge.callback, "k1": challenge.k1}
        answer = await self._t.request(AUTH, json=body, retry=NO_RETRY)
        if isinstance(answer, dict) and str(answer.get("status", "")).upper() == "ERROR":
            raise InvalidRequestError(
                f"the LNURL-auth service refused the login: {answer.get('reason', 'no reason')}",
                method=AUTH.method,
                path=AUTH.path,
                status=200,
                detail=answer,
            )

    async def _pay_request(self, code: str) -> LnurlPay:
        scanned = await self.scan(code)
        if not isinstance(scanned, LnurlPay):
            raise ValueError(f"this LNURL is an LNURL-{scanned.kind}, not an LNURL-pay")
        return scanned

    async def _find_and_resolve(
        self, request: LnurlPay, amount_msat: int, sent_at: datetime
    ) -> Payment:
        """Find the payment LNbits made for an ambiguous pay request, then resolve it.

        Never sends anything. LNbits writes the outgoing payment before paying, with the
        pay request's text as memo and the amount asked: the one such payment created since
        the request was sent is it.
        """
        deadline = time.monotonic() + self._payments.resolve_deadline_s
        since = sent_at - timedelta(seconds=5)  # clock skew between us and LNbits
        poll_s = self._payments.resolve_poll_s
        while True:
            try:
                recent = await self._payments.list(limit=50, bypass_cache=True)
            except (TransportError, ServerError):
                recent = []
            matches = [
                p
                for p in recent
                if p.is_outgoing
                and -p.amount_msat == amount_msat
                and p.memo == request.description
                and (p.time is None or p.time >= since)
            ]
            if len(matches) == 1:
                return await self._payments.resolve(matches[0].payment_hash)
            if len(matches) > 1 or time.monotonic() + poll_s > deadline:
                hashes = ", ".join(p.payment_hash for p in matches) or "none found"
                raise PaymentOutcomeUnknownError(
                    f"outcome of the LNURL payment of {amount_msat} msat unknown (payments "
                    f"matching it: {hashes}); it was not sent again — check "
                    "`lnpilot payments list` before paying again",
                    payment_hash=matches[0].payment_hash if len(matches) == 1 else None,
                    method=PAY.method,
                    path=PAY.path,
                )
            await asyncio.sleep(poll_s)
            poll_s = min(poll_s * 1.5, 5.0)


def check_amount(request: LnurlPay, amount_msat: int) -> None:
    """ValueError unless ``amount_msat`` is a whole msat amount the service accepts."""
    if not isinstance(amount_msat, int) or isinstance(amount_msat, bool) or amount_msat <= 0:
        raise ValueError(f"amount_msat must be a whole number > 0, got {amount_msat!r}")
    if not request.min_sendable_msat <= amount_msat <= request.max_sendable_msat:
        raise ValueError(
            f"amount {amount_msat} msat is outside what this service accepts: "
            f"{request.min_sendable_msat} to {request.max_sendable_msat} msat"
        )


def _metadata_entry(metadata: str, mime: str) -> str:
    """One entry of LUD-06 metadata (a JSON array of [mime, value] pairs), or ''."""
    try:
        entries = json.loads(metadata)
    except ValueError:
        return ""
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == mime:
            return str(entry[1])
    return ""
