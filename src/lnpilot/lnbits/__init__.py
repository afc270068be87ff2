"""The unified LNbits client (HTTP and LNbits only; nothing of fees or channel policy)."""

from lnpilot.lnbits.client import LNbitsClient
from lnpilot.lnbits.credentials import Credential, Credentials
from lnpilot.lnbits.errors import (
    AlreadyPaidError,
    AuthenticationError,
    InsufficientBalanceError,
    InvalidRequestError,
    InvoiceDecodeError,
    LNbitsError,
    MissingCredentialError,
    NodeUIDisabledError,
    NotFoundError,
    NotOwnedError,
    PaymentFailedError,
    PaymentOutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    UnsupportedByBackendError,
)
from lnpilot.lnbits.retry import RetryPolicy
from lnpilot.lnbits.transport import TransportSettings

__all__ = [
    "AlreadyPaidError",
    "AuthenticationError",
    "Credential",
    "Credentials",
    "InsufficientBalanceError",
    "InvalidRequestError",
    "InvoiceDecodeError",
    "LNbitsClient",
    "LNbitsError",
    "MissingCredentialError",
    "NodeUIDisabledError",
    "NotFoundError",
    "NotOwnedError",
    "PaymentFailedError",
    "PaymentOutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestTimeoutError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "TransportSettings",
    "UnsupportedByBackendError",
]
