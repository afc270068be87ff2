"""Why an HTLC failed, with LND's names so the face can report them verbatim.

LND reports a failed HTLC with a BOLT 4 wire failure code (`wire_failure` in HTLC events,
`failure.code` in payment attempts) and, when the failing node is itself, a more precise
`failure_detail`. A payment as a whole ends with a `failure_reason`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class WireFailure(enum.Enum):
    """BOLT 4 failure codes under LND's `lnrpc.Failure.FailureCode` names."""

    TEMPORARY_CHANNEL_FAILURE = "TEMPORARY_CHANNEL_FAILURE"
    FEE_INSUFFICIENT = "FEE_INSUFFICIENT"
    CHANNEL_DISABLED = "CHANNEL_DISABLED"
    UNKNOWN_NEXT_PEER = "UNKNOWN_NEXT_PEER"
    AMOUNT_BELOW_MINIMUM = "AMOUNT_BELOW_MINIMUM"
    INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS = "INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS"
    MPP_TIMEOUT = "MPP_TIMEOUT"


class FailureDetail(enum.Enum):
    """LND's `routerrpc.FailureDetail`, said by the node that refused to forward."""

    NO_DETAIL = "NO_DETAIL"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    HTLC_EXCEEDS_MAX = "HTLC_EXCEEDS_MAX"
    LINK_NOT_ELIGIBLE = "LINK_NOT_ELIGIBLE"
    UNKNOWN_INVOICE = "UNKNOWN_INVOICE"
    INVOICE_UNDERPAID = "INVOICE_UNDERPAID"
    INVOICE_NOT_OPEN = "INVOICE_NOT_OPEN"


class PaymentFailureReason(enum.Enum):
    """LND's `lnrpc.PaymentFailureReason` for a payment that ended in failure."""

    FAILURE_REASON_NONE = "FAILURE_REASON_NONE"
    FAILURE_REASON_TIMEOUT = "FAILURE_REASON_TIMEOUT"
    FAILURE_REASON_NO_ROUTE = "FAILURE_REASON_NO_ROUTE"
    FAILURE_REASON_ERROR = "FAILURE_REASON_ERROR"
    FAILURE_REASON_INCORRECT_PAYMENT_DETAILS = "FAILURE_REASON_INCORRECT_PAYMENT_DETAILS"
    FAILURE_REASON_INSUFFICIENT_BALANCE = "FAILURE_REASON_INSUFFICIENT_BALANCE"


@dataclass(frozen=True, slots=True)
class HtlcFailure:
    """Where and why one HTLC attempt failed.

    `hop_index` is the index of the channel in the route that could not be used (the failing
    node is the one at that channel's start; for payment details it is the final node and the
    index is the route length).
    """

    hop_index: int
    wire: WireFailure
    detail: FailureDetail
    chan_id: int
    failing_node: str
    message: str
