"""What our node remembers: invoices, payments, forwards and HTLC events.

Field names follow LND's so that the REST face maps them one to one (with `_msat`/`_ns`
suffixes kept where LND has them). Hashes and preimages are lowercase hex here; the face
turns them into base64 where LND does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from lnpilot.simnet.failures import FailureDetail, PaymentFailureReason, WireFailure
from lnpilot.simnet.routing import Route


class InvoiceState(enum.Enum):
    """LND's `Invoice.InvoiceState`."""

    OPEN = "OPEN"
    SETTLED = "SETTLED"
    CANCELED = "CANCELED"
    ACCEPTED = "ACCEPTED"


@dataclass(slots=True)
class Invoice:
    """An invoice of some node of the network (ours or a simulated one)."""

    node: str
    payment_hash: str
    preimage: str | None
    value_msat: int
    memo: str
    description_hash: bytes | None
    expiry_s: int
    creation_ns: int
    payment_request: str
    payment_addr: bytes
    cltv_expiry: int = 18
    private: bool = False
    hold: bool = False
    state: InvoiceState = InvoiceState.OPEN
    add_index: int = 0
    settle_index: int = 0
    settle_ns: int = 0
    amt_paid_msat: int = 0

    def expired(self, now_ns: int) -> bool:
        return now_ns > self.creation_ns + self.expiry_s * 1_000_000_000


class PaymentStatus(enum.Enum):
    """LND's `Payment.PaymentStatus` (without the deprecated UNKNOWN)."""

    IN_FLIGHT = "IN_FLIGHT"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class HtlcStatus(enum.Enum):
    """LND's `HTLCAttempt.HTLCStatus`."""

    IN_FLIGHT = "IN_FLIGHT"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(slots=True)
class HtlcAttempt:
    """One route tried for a payment, with the failure that ended it if it did."""

    attempt_id: int
    route: Route
    status: HtlcStatus
    attempt_ns: int
    resolve_ns: int
    failure_wire: WireFailure | None = None
    failure_detail: FailureDetail | None = None
    failure_source_index: int = 0
    failure_chan_id: int = 0


@dataclass(slots=True)
class Payment:
    """An outgoing payment of our node."""

    payment_hash: str
    value_msat: int
    creation_ns: int
    payment_index: int
    payment_request: str = ""
    destination: str = ""
    preimage: str = ""
    fee_msat: int = 0
    status: PaymentStatus = PaymentStatus.IN_FLIGHT
    failure_reason: PaymentFailureReason = PaymentFailureReason.FAILURE_REASON_NONE
    htlcs: list[HtlcAttempt] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Forward:
    """A settled forward through our node, as in LND's `ForwardingEvent`."""

    timestamp_ns: int
    chan_id_in: int
    chan_id_out: int
    amt_in_msat: int
    amt_out_msat: int
    fee_msat: int
    incoming_htlc_id: int
    outgoing_htlc_id: int


class HtlcEventKind(enum.Enum):
    """Which of LND's `routerrpc.HtlcEvent` oneofs this event is."""

    FORWARD = "forward_event"
    FORWARD_FAIL = "forward_fail_event"
    SETTLE = "settle_event"
    LINK_FAIL = "link_fail_event"


class HtlcEventType(enum.Enum):
    """LND's `HtlcEvent.EventType`: our node's role in the HTLC."""

    SEND = "SEND"
    RECEIVE = "RECEIVE"
    FORWARD = "FORWARD"


@dataclass(frozen=True, slots=True)
class HtlcEvent:
    """An HTLC event of our node, as LND's `SubscribeHtlcEvents` streams them.

    A failed forward (`LINK_FAIL`) is one our node refused: its outgoing htlc id is 0 because
    the HTLC was never added to the outgoing channel.
    """

    kind: HtlcEventKind
    event_type: HtlcEventType
    timestamp_ns: int
    incoming_channel_id: int
    outgoing_channel_id: int
    incoming_htlc_id: int
    outgoing_htlc_id: int
    incoming_amt_msat: int = 0
    outgoing_amt_msat: int = 0
    wire_failure: WireFailure | None = None
    failure_detail: FailureDetail | None = None
    failure_string: str = ""
