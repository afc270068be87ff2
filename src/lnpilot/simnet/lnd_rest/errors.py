"""LND's REST errors: a gRPC status code, its HTTP status, and the body grpc-gateway writes.

Clients decide what an error means from these: LNbits' ``LndRestWallet`` treats a failed
``/v2/router/send`` with gRPC code 3, 7 or 16 as "definitely not paid" and anything else as
"maybe paid, keep checking". So the face must pick codes the way LND does, not just any 4xx.
"""

from __future__ import annotations

import enum
from typing import Any


class GrpcCode(enum.IntEnum):
    """The gRPC status codes LND's answers use."""

    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


# grpc-gateway's runtime.HTTPStatusFromCode.
_HTTP_STATUS = {
    GrpcCode.CANCELLED: 499,
    GrpcCode.UNKNOWN: 500,
    GrpcCode.INVALID_ARGUMENT: 400,
    GrpcCode.DEADLINE_EXCEEDED: 504,
    GrpcCode.NOT_FOUND: 404,
    GrpcCode.ALREADY_EXISTS: 409,
    GrpcCode.PERMISSION_DENIED: 403,
    GrpcCode.RESOURCE_EXHAUSTED: 429,
    GrpcCode.FAILED_PRECONDITION: 400,
    GrpcCode.ABORTED: 409,
    GrpcCode.OUT_OF_RANGE: 400,
    GrpcCode.UNIMPLEMENTED: 501,
    GrpcCode.INTERNAL: 500,
    GrpcCode.UNAVAILABLE: 503,
    GrpcCode.DATA_LOSS: 500,
    GrpcCode.UNAUTHENTICATED: 401,
}

# The reverse, for errors raised by the HTTP layer itself (unknown path, wrong method).
_CODE_OF_HTTP = {
    400: GrpcCode.INVALID_ARGUMENT,
    404: GrpcCode.NOT_FOUND,
    405: GrpcCode.UNIMPLEMENTED,
}


class LndError(Exception):
    """An error to answer as LND would: `code` picks the HTTP status, `message` is LND's text.

    Most simulated failures are LND's generic ``UNKNOWN`` with LND's own wording (LND itself
    returns most of its errors that way), so that is the default.
    """

    def __init__(self, message: str, code: GrpcCode = GrpcCode.UNKNOWN) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self.code]

    def status_json(self) -> dict[str, Any]:
        """The ``rpcStatus`` body of a unary call's error."""
        return {"code": int(self.code), "message": self.message, "details": []}

    def stream_json(self) -> dict[str, Any]:
        """A streaming call's error line: the status wrapped in ``error``."""
        return {"error": self.status_json()}

    @classmethod
    def from_http(cls, status: int, message: str) -> LndError:
        """The LND form of an error Starlette raised (no route, wrong method)."""
        return cls(message, _CODE_OF_HTTP.get(status, GrpcCode.UNKNOWN))
