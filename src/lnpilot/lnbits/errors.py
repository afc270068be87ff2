"""The typed error hierarchy of the LNbits client.

Every error carries the HTTP method, the path (query string stripped: it may hold an
``api-key``), the status and LNbits' own message, and never a key, token or password:
messages pass through :func:`lnpilot.base.redact.redact_text` before they are stored.
Callers branch on the class, not on message text.
"""

from __future__ import annotations

from typing import Any

from lnpilot.base.redact import redact_text


class LNbitsError(Exception):
    """Root of every error the LNbits client raises."""

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        detail: Any = None,
    ) -> None:
        self.message = redact_text(message)
        self.method = method
        self.path = redact_text(path.split("?", 1)[0]) if path else path
        self.status = status
        self.detail = detail
        where = f"{method} {self.path}" if method and self.path else ""
        status_text = f" -> {status}" if status is not None else ""
        prefix = f"{where}{status_text}: " if where else ""
        super().__init__(f"{prefix}{self.message}")


class MissingCredentialError(LNbitsError):
    """The call needs a credential (invoice key, admin key, bearer) the client was not given.

    Raised before any request is sent, naming the credential that is missing.
    """


class TransportError(LNbitsError):
    """The request could not be sent or no complete answer came back (connection, timeout)."""

    def __init__(self, message: str, *, request_sent: bool, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        #: True when the request may have reached LNbits (and so may have taken effect).
        self.request_sent = request_sent


class RequestTimeoutError(TransportError):
    """No answer within the configured timeout."""


class AuthenticationError(LNbitsError):
    """401: the key or token is missing, wrong or expired."""


class PermissionDeniedError(LNbitsError):
    """403: the credential is valid but not allowed to do this (e.g. invoice key paying)."""


class NotFoundError(LNbitsError):
    """404: the wallet, payment, user or path does not exist."""


class InvalidRequestError(LNbitsError):
    """400/422: LNbits rejected the input; ``detail`` holds its parsed explanation."""


class RateLimitedError(LNbitsError):
    """429: too many requests; ``retry_after_s`` is what LNbits asked for, if anything."""

    def __init__(self, message: str, *, retry_after_s: float | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s


class ServerError(LNbitsError):
    """5xx other than the typed node cases below."""


class UnsupportedByBackendError(LNbitsError):
    """The funding source cannot do this (501, e.g. node API on FakeWallet, hold invoices)."""


class NodeUIDisabledError(UnsupportedByBackendError):
    """503 from the node API: ``LNBITS_NODE_UI`` is off on this LNbits."""


class InsufficientBalanceError(LNbitsError):
    """The wallet cannot cover the amount plus the fee reserve."""


class PaymentFailedError(LNbitsError):
    """The payment definitely failed: no money left the wallet."""

    def __init__(self, message: str, *, payment_hash: str | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.payment_hash = payment_hash


class PaymentOutcomeUnknownError(LNbitsError):
    """The pay request may have taken effect and its outcome could not be resolved in time.

    The payment must not be retried: look it up by ``payment_hash`` later.
    """

    def __init__(self, message: str, *, payment_hash: str | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.payment_hash = payment_hash


class AlreadyPaidError(LNbitsError):
    """This wallet already paid, or is paying, this invoice; it is not paid again."""

    def __init__(self, message: str, *, payment_hash: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.payment_hash = payment_hash


class NotOwnedError(PermissionDeniedError):
    """The user or wallet is not one this key's owner manages: refused by the client, because
    the extension (UserManager 1.0.0) has no ownership checks of its own."""


class InvoiceDecodeError(LNbitsError):
    """A BOLT11 string could not be decoded locally."""
