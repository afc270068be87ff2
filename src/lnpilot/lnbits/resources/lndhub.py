"""The LNDHub extension (`/lndhub/ext/`): BlueWallet's and Zeus's LndHub protocol on LNbits.

What this client does on purpose, because of how LNDHub 1.0.2 behaves (recorded in the
shared contracts):

- Authentication is `Authorization: Bearer base64(login:key)` with an LNbits wallet key;
  the token is made locally from the configured key (see
  :func:`lnpilot.lnbits.credentials.lndhub_token`). `/auth` accepts ANY password and
  returns a token for it, so :meth:`LndhubResource.auth` is only a protocol check: a token
  it returns is never taken as proof that a key is valid; the first protected call is.
- `payinvoice` answers HTTP 200 for failures (`{"payment_error": "Payment failed"}`). It
  pays through the same at-most-once machinery as the core API
  (:meth:`PaymentsResource.pay_at_most_once`): the hash is known before sending, an
  already-paid invoice is not sent again, and a 200-with-error is checked by hash before it
  becomes :class:`PaymentFailedError`, so a payment that did leave is never reported failed.
- A missing token gives HTTP 500 on LNbits' side; the client never sends a protected call
  without one (it fails first with :class:`MissingCredentialError`).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from lnpilot.base.redact import register_secret
from lnpilot.lnbits import bolt11
from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.errors import InvalidRequestError, PaymentFailedError, ServerError
from lnpilot.lnbits.extension_models import (
    LndhubDecoded,
    LndhubInfo,
    LndhubInvoice,
    LndhubPayResult,
    LndhubTokens,
    LndhubTransaction,
    LndhubUserInvoice,
)
from lnpilot.lnbits.models import Payment
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource
from lnpilot.lnbits.resources.payments import PaymentsResource
from lnpilot.lnbits.retry import NO_RETRY
from lnpilot.lnbits.transport import Transport

NONE = Credential.NONE
INV, ADM = Credential.LNDHUB_INVOICE_KEY, Credential.LNDHUB_ADMIN_KEY
_P = "/lndhub/ext"
_WRITES = ("payments", "wallet")

GETINFO = operation("GET", f"{_P}/getinfo", NONE)
AUTH = operation("POST", f"{_P}/auth", NONE, idempotent=True)
ADDINVOICE = operation("POST", f"{_P}/addinvoice", INV, invalidates=_WRITES)
PAYINVOICE = operation("POST", f"{_P}/payinvoice", ADM, invalidates=_WRITES)
BALANCE = operation("GET", f"{_P}/balance", INV)
GETTXS = operation("GET", f"{_P}/gettxs", INV)
GETUSERINVOICES = operation("GET", f"{_P}/getuserinvoices", INV)
GETBTC = operation("GET", f"{_P}/getbtc", INV)
GETPENDING = operation("GET", f"{_P}/getpending", INV)
DECODEINVOICE = operation("GET", f"{_P}/decodeinvoice", NONE)
CHECKROUTEINVOICE = operation("GET", f"{_P}/checkrouteinvoice", NONE)

#: LNDHub's page size bounds for `gettxs` and `getuserinvoices`.
MAX_LIMIT = 200


def _limit_params(limit: int, offset: int) -> dict[str, int]:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_LIMIT} (LNDHub's bounds), got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    return {"limit": limit, "offset": offset}


class LndhubResource(Resource):
    """The configured wallet seen through LNDHub (amounts in sats, as LNDHub speaks)."""

    def __init__(self, transport: Transport, payments: PaymentsResource) -> None:
        super().__init__(transport)
        self._payments = payments

    async def info(self) -> LndhubInfo:
        return LndhubInfo.model_validate(await self._t.request(GETINFO))

    async def auth(self, login: str, password: str) -> LndhubTokens:
        """What a wallet app does first. LNDHub checks nothing here: any password gets a token.

        Use it to test that the endpoint speaks LndHub, never as a check of the password.
        """
        body = await self._t.request(AUTH, json={"login": login, "password": password})
        return LndhubTokens.model_validate(body)

    async def refresh(self, refresh_token: str) -> LndhubTokens:
        body = await self._t.request(AUTH, json={"refresh_token": refresh_token})
        return LndhubTokens.model_validate(body)

    async def add_invoice(self, amount_sat: int, memo: str) -> LndhubInvoice:
        """An invoice of the wallet; LNDHub refuses amountless ones and needs a memo."""
        if not isinstance(amount_sat, int) or amount_sat < 1:
            raise ValueError(f"amount_sat must be a whole number >= 1, got {amount_sat!r}")
        body = await self._t.request(ADDINVOICE, json={"amt": amount_sat, "memo": memo})
        return LndhubInvoice.model_validate(body)

    async def pay_invoice(self, invoice: str) -> Payment:
        """Pay through LNDHub at most once; returns the wallet's core payment record.

        Raises :class:`PaymentFailedError` when it definitely did not pay (LNDHub's
        200-with-`payment_error`, confirmed by hash), and what
        :meth:`PaymentsResource.pay_at_most_once` raises otherwise.
        """

        async def send(bolt11_invoice: str) -> Payment | None:
            answer = await self._t.request(
                PAYINVOICE,
                json={"invoice": bolt11_invoice},
                timeout_s=self._payments.pay_timeout_s,
                retry=NO_RETRY,
            )
            result = parse_pay_result(answer)
            if result.succeeded:
                return None  # the core record is read by hash
            # 200 with an error: LNDHub says "failed" for whatever went wrong; the hash says
            # whether anything left the wallet.
            existing = await self._payments.outgoing(bolt11_hash)
            if existing is None or existing.is_failed:
                raise PaymentFailedError(
                    f"LNDHub: {result.payment_error} (payment_hash {bolt11_hash})",
                    payment_hash=bolt11_hash,
                    method=PAYINVOICE.method,
                    path=PAYINVOICE.path,
                    status=200,
                )
            return None

        bolt11_hash = bolt11.decode(invoice).payment_hash
        return await self._payments.pay_at_most_once(invoice, send)

    async def balance_sat(self) -> int:
        body = await self._t.request(BALANCE)
        return int(body["BTC"]["AvailableBalance"])

    async def transactions(
        self, *, limit: int = 20, offset: int = 0
    ) -> builtins.list[LndhubTransaction]:
        """Outgoing payments only (LNDHub's `gettxs`), one page oldest first."""
        body = await self._t.request(GETTXS, params=_limit_params(limit, offset))
        return [LndhubTransaction.model_validate(t) for t in body]

    async def user_invoices(
        self, *, limit: int = 20, offset: int = 0
    ) -> builtins.list[LndhubUserInvoice]:
        """Incoming invoices only (LNDHub's `getuserinvoices`), one page oldest first."""
        body = await self._t.request(GETUSERINVOICES, params=_limit_params(limit, offset))
        return [LndhubUserInvoice.model_validate(i) for i in body]

    async def onchain_addresses(self) -> builtins.list[object]:
        """`getbtc`: LNbits has no on-chain wallet here, always empty."""
        result: builtins.list[object] = await self._t.request(GETBTC)
        return result

    async def pending(self) -> builtins.list[object]:
        """`getpending`: always empty on LNbits."""
        result: builtins.list[object] = await self._t.request(GETPENDING)
        return result

    async def decode_invoice(self, invoice: str) -> LndhubDecoded:
        """LNDHub's decode (public); garbage gives LNbits' 500, mapped to InvalidRequestError."""
        try:
            body = await self._t.request(DECODEINVOICE, params={"invoice": invoice}, retry=NO_RETRY)
        except ServerError as exc:
            raise InvalidRequestError(
                "LNDHub could not decode the invoice (it answers 500 for any bad input)",
                method=DECODEINVOICE.method,
                path=DECODEINVOICE.path,
                status=exc.status,
            ) from exc
        return LndhubDecoded.model_validate(body)

    async def check_route(self, invoice: str) -> None:
        """`checkrouteinvoice`: LNDHub answers null whatever the invoice."""
        await self._t.request(CHECKROUTEINVOICE, params={"invoice": invoice})


def parse_pay_result(body: object) -> LndhubPayResult:
    """Read a `payinvoice` answer (HTTP 200 whether it paid or not)."""
    return LndhubPayResult.model_validate(body)


LndhubKind = Literal["admin", "invoice"]


@dataclass(frozen=True)
class LndhubUrl:
    """An LNDHub URL as BlueWallet and Zeus take it: ``lndhub://KIND:KEY@LNBITS/lndhub/ext/``.

    The key in it is the wallet's: whoever holds the URL holds the key (masked in repr).
    """

    kind: LndhubKind
    key: str = field(repr=False)
    lnbits_url: str

    def __str__(self) -> str:
        return f"lndhub://{self.kind}:{self.key}@{self.lnbits_url}{_P}/"

    @classmethod
    def parse(cls, text: str) -> LndhubUrl:
        """Read a URL made by LNbits' LNDHub page (or :meth:`__str__`); ValueError if not one."""
        prefix = "lndhub://"
        rest = text.strip().removeprefix(prefix)
        creds, sep, host = rest.partition("@")
        kind, colon, key = creds.partition(":")
        base = host.rstrip("/").removesuffix(_P)
        if not (text.strip().startswith(prefix) and sep and colon and key):
            raise ValueError("an LNDHub URL looks like lndhub://admin:KEY@https://HOST/lndhub/ext/")
        if kind not in ("admin", "invoice"):
            raise ValueError(f"LNDHub URL kind must be admin or invoice, got {kind!r}")
        if urlsplit(base).scheme not in ("http", "https"):
            raise ValueError("the LNbits part of an LNDHub URL must start with http:// or https://")
        register_secret(key)
        return cls("admin" if kind == "admin" else "invoice", key, base)
