"""The unified LNbits client (HTTP and LNbits only; nothing of fees or channel policy)."""

from lnpilot.lnbits.client import LNbitsClient
from lnpilot.lnbits.credentials import Credential, Credentials
from lnpilot.lnbits.errors import (
    AlreadyPaidError,
    AuthenticationError,
    InsufficientBalanceError,
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
    ServerError,
    TimeoutError_,
    TransportError,
    UnsupportedByBackendError,
    ValidationError,
)
from lnpilot.lnbits.retry import RetryPolicy
from lnpilot.lnbits.transport import TransportSettings

__all__ = [
    "AlreadyPaidError",
    "AuthenticationError",
    "Credential",
    "Credentials",
    "InsufficientBalanceError",
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
    "RetryPolicy",
    "ServerError",
    "TimeoutError_",
    "TransportError",
    "TransportSettings",
    "UnsupportedByBackendError",
    "ValidationError",
]
