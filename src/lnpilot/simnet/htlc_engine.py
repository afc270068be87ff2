"""The HTLC engine of the simulated network: a route executed hop by hop with the checks a
real node makes, hold invoices and multi-path parts kept locked, and what the watched node
sees of it (LND-shaped forwards and HTLC events for its observer).

`HtlcEngine` is a part of `SimNetwork` (`lnpilot.simnet.network`), kept apart from the chain,
time and channel rules there because it is a different question (what happens to one
payment's HTLCs) and the hot path of every run: it reads the network's state and changes
only balances, HTLCs in flight, invoices and the held set.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from lnpilot.simnet.failures import FailureDetail, HtlcFailure, WireFailure
from lnpilot.simnet.fees import forwarding_fee_msat
from lnpilot.simnet.invoices import InvoiceBook
from lnpilot.simnet.model import Channel, ChannelState
from lnpilot.simnet.records import (
    Forward,
    HtlcEvent,
    HtlcEventKind,
    HtlcEventType,
    Invoice,
    InvoiceState,
)
from lnpilot.simnet.routing import Route


class AttemptStatus(enum.Enum):
    """How an HTLC attempt along a route ended for now."""

    SETTLED = "settled"
    HELD = "held"
    FAILED = "failed"


@dataclass(slots=True)
class HeldHtlcs:
    """HTLCs locked along a route toward a hold invoice, waiting for settle or cancel."""

    route: Route
    htlc_ids: list[int]
    invoice: Invoice


class WatchObserver:
    """Receives what happens to the watched node's HTLCs; `OurNode` subclasses it."""

    def on_forward(self, forward: Forward) -> None:
        """A forward through the watched node settled."""

    def on_htlc_event(self, event: HtlcEvent) -> None:
        """An HTLC event of the watched node (forward, failure, settle)."""

    def on_channel_change(self, chan: Channel) -> None:
        """A channel of the watched node changed state (pending, open, closing, closed)."""


class HtlcEngine:
    """HTLCs along routes over the network's channels; `SimNetwork` inherits it and holds
    the state it reads (declared here, set by `SimNetwork.__init__`)."""

    invoices: InvoiceBook
    online: dict[str, bool]
    held: dict[str, list[HeldHtlcs]]
    now_ns: int
    watched: str | None
    observer: WatchObserver

    def execute(
        self, route: Route, payment_hash: str | None = None
    ) -> tuple[AttemptStatus, HtlcFailure | None]:
        """Send one HTLC along `route` with the checks each forwarding node makes.

        Each hop is added in turn (locking the amount on the offering side); the first
        refusal unwinds what was added and is reported with the refusing node and LND's
        reason. At the end the final node checks the invoice (when `payment_hash` names one;
        payments without one are taken as spontaneous and accepted). A hold invoice keeps the
        HTLCs locked until `settle_held` or `cancel_held`.
        """
        htlc_ids, failure = self._add_htlcs(route)
        if failure is not None:
            return AttemptStatus.FAILED, failure
        n = len(route.channels)
        amts = route.amounts_msat
        if payment_hash is not None:
            invoice = self.invoices.by_hash(payment_hash)
            final = self._check_invoice(invoice, route)
            if final is not None:
                self._unwind(route, n)
                self._watch_result(route, htlc_ids, final)
                return AttemptStatus.FAILED, final
            assert invoice is not None
            if invoice.hold:
                self.held.setdefault(payment_hash, []).append(HeldHtlcs(route, htlc_ids, invoice))
                self.invoices.accept(invoice, amts[-1])
                self._watch_held(route, htlc_ids)
                return AttemptStatus.HELD, None
            self.invoices.settle(invoice, amts[-1], self.now_ns, None)
        self._settle(route)
        self._watch_result(route, htlc_ids, None)
        return AttemptStatus.SETTLED, None

    def _add_htlcs(self, route: Route) -> tuple[list[int], HtlcFailure | None]:
        """Add the route's HTLCs hop by hop with each forwarding node's checks; the first
        refusal unwinds what was added and is reported (and shown to the watched node)."""
        chans = route.channels
        dirs = route.directions
        amts = route.amounts_msat
        online = self.online
        n = len(chans)
        htlc_ids = [0] * n
        open_state = ChannelState.OPEN
        for i in range(n):
            chan = chans[i]
            d = dirs[i]
            x = amts[i]
            policy = chan.policies[d]
            failure: tuple[WireFailure, FailureDetail, str] | None = None
            if chan.state is not open_state or not online[chan.node2 if d == 0 else chan.node1]:
                failure = (WireFailure.UNKNOWN_NEXT_PEER, FailureDetail.NO_DETAIL, "peer offline")
            elif policy.disabled:
                failure = (WireFailure.CHANNEL_DISABLED, FailureDetail.NO_DETAIL, "disabled")
            elif i > 0 and amts[i - 1] - x < forwarding_fee_msat(
                policy, chans[i - 1].policies[1 - dirs[i - 1]], x
            ):
                failure = (WireFailure.FEE_INSUFFICIENT, FailureDetail.NO_DETAIL, "fee too low")
            elif x < policy.min_htlc_msat:
                failure = (
                    WireFailure.AMOUNT_BELOW_MINIMUM,
                    FailureDetail.NO_DETAIL,
                    "amount below minimum",
                )
            elif x > policy.max_htlc_msat:
                failure = (
                    WireFailure.TEMPORARY_CHANNEL_FAILURE,
                    FailureDetail.HTLC_EXCEEDS_MAX,
                    "htlc exceeds maximum",
                )
            elif chan.balance_msat[d] - x < chan.reserve_sat_of(d) * 1000:
                failure = (
                    WireFailure.TEMPORARY_CHANNEL_FAILURE,
                    FailureDetail.INSUFFICIENT_BALANCE,
                    "insufficient balance",
                )
            elif chan.in_flight_count[d] >= chan.max_accepted_htlcs:
                failure = (
                    WireFailure.TEMPORARY_CHANNEL_FAILURE,
                    FailureDetail.NO_DETAIL,
                    "too many htlcs in flight",
                )
            if failure is not None:
                self._unwind(route, i)
                start = chan.node1 if d == 0 else chan.node2
                result = HtlcFailure(i, failure[0], failure[1], chan.chan_id, start, failure[2])
                self._watch_result(route, htlc_ids, result)
                return htlc_ids, result
            chan.balance_msat[d] -= x
            chan.in_flight_msat[d] += x
            chan.in_flight_count[d] += 1
            htlc_ids[i] = chan.next_htlc_id[d]
            chan.next_htlc_id[d] += 1
        return htlc_ids, None

    def lock(self, route: Route) -> tuple[list[int], HtlcFailure | None]:
        """Add one part of a multi-path payment and keep it locked at the receiver.

        A receiver holds the parts of a payment until their sum reaches the total (BOLT 4's
        `total_msat`); the payer then has every part settled (`settle_locked`) or, giving
        up, every part failed back (`release_locked`). Spontaneous payments only: the
        simulated senders' background traffic.
        """
        htlc_ids, failure = self._add_htlcs(route)
        if failure is None:
            self._watch_held(route, htlc_ids)
        return htlc_ids, failure

    def settle_locked(self, route: Route, htlc_ids: list[int]) -> None:
        """Settle a part locked by `lock`: the whole payment has arrived."""
        self._settle(route)
        self._watch_result(route, htlc_ids, None)

    def release_locked(self, route: Route, htlc_ids: list[int]) -> None:
        """Fail back a part locked by `lock`, as a receiver does when the rest never comes."""
        n = len(route.channels)
        self._unwind(route, n)
        failure = HtlcFailure(
            n,
            WireFailure.MPP_TIMEOUT,
            FailureDetail.NO_DETAIL,
            route.channels[-1].chan_id,
            route.destination,
            "mpp timeout",
        )
        self._watch_result(route, htlc_ids, failure)

    def settle_held(self, payment_hash: str, preimage: str) -> None:
        """Settle a hold invoice's HTLCs with its preimage (LND's SettleInvoice)."""
        invoice = self.invoices.by_hash(payment_hash)
        if invoice is None or invoice.state is not InvoiceState.ACCEPTED:
            raise ValueError(f"no accepted hold invoice with hash {payment_hash}")
        if hashlib.sha256(bytes.fromhex(preimage)).hexdigest() != payment_hash:
            raise ValueError("preimage does not match the payment hash")
        held = self.held.pop(payment_hash, [])
        for item in held:
            self._settle(item.route)
            self._watch_result(item.route, item.htlc_ids, None)
        self.invoices.settle(
            invoice, sum(h.route.amounts_msat[-1] for h in held), self.now_ns, preimage
        )

    def cancel_held(self, payment_hash: str) -> None:
        """Fail a hold invoice's HTLCs back and cancel it (LND's CancelInvoice)."""
        invoice = self.invoices.by_hash(payment_hash)
        if invoice is None or invoice.state in (InvoiceState.SETTLED, InvoiceState.CANCELED):
            raise ValueError(f"no open invoice with hash {payment_hash}")
        for item in self.held.pop(payment_hash, []):
            n = len(item.route.channels)
            self._unwind(item.route, n)
            failure = HtlcFailure(
                n,
                WireFailure.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS,
                FailureDetail.INVOICE_NOT_OPEN,
                item.route.channels[-1].chan_id,
                invoice.node,
                "invoice canceled",
            )
            self._watch_result(item.route, item.htlc_ids, failure)
        self.invoices.cancel(invoice)

    def _check_invoice(self, invoice: Invoice | None, route: Route) -> HtlcFailure | None:
        n = len(route.channels)
        dest = route.destination
        last_chan = route.channels[-1].chan_id
        wire = WireFailure.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS
        if invoice is None or invoice.node != dest:
            return HtlcFailure(n, wire, FailureDetail.UNKNOWN_INVOICE, last_chan, dest, "unknown")
        if invoice.state is not InvoiceState.OPEN or invoice.expired(self.now_ns):
            return HtlcFailure(n, wire, FailureDetail.INVOICE_NOT_OPEN, last_chan, dest, "not open")
        if route.amounts_msat[-1] < invoice.value_msat:
            return HtlcFailure(
                n, wire, FailureDetail.INVOICE_UNDERPAID, last_chan, dest, "underpaid"
            )
        return None

    def _unwind(self, route: Route, added: int) -> None:
        """Fail back the first `added` HTLCs of a route: amounts return to their offerers."""
        for i in range(added):
            chan = route.channels[i]
            d = route.directions[i]
            x = route.amounts_msat[i]
            chan.balance_msat[d] += x
            chan.in_flight_msat[d] -= x
            chan.in_flight_count[d] -= 1

    def _settle(self, route: Route) -> None:
        for chan, d, x in zip(route.channels, route.directions, route.amounts_msat, strict=True):
            chan.in_flight_msat[d] -= x
            chan.in_flight_count[d] -= 1
            chan.balance_msat[1 - d] += x
            chan.sent_msat[d] += x
            chan.num_updates += 1

    # --- the watched node's view -----------------------------------------------------

    def _watch_index(self, route: Route) -> int:
        """Position of the watched node on the route (0 sender .. n receiver), or -1."""
        watched = self.watched
        if watched is None:
            return -1
        if route.source == watched:
            return 0
        for i, (chan, d) in enumerate(zip(route.channels, route.directions, strict=True)):
            if (chan.node2 if d == 0 else chan.node1) == watched:
                return i + 1
        return -1

    def _watch_held(self, route: Route, htlc_ids: list[int]) -> None:
        k = self._watch_index(route)
        if 0 < k < len(route.channels):
            self.observer.on_htlc_event(
                self._forward_event(route, htlc_ids, k, HtlcEventKind.FORWARD)
            )

    def _watch_result(self, route: Route, htlc_ids: list[int], failure: HtlcFailure | None) -> None:
        k = self._watch_index(route)
        n = len(route.channels)
        if k <= 0:
            return
        now = self.now_ns
        if k == n:
            if failure is None:
                self.observer.on_htlc_event(
                    HtlcEvent(
                        HtlcEventKind.SETTLE,
                        HtlcEventType.RECEIVE,
                        now,
                        route.channels[-1].chan_id,
                        0,
                        htlc_ids[-1],
                        0,
                        route.amounts_msat[-1],
                    )
                )
            return
        if failure is not None and failure.hop_index < k:
            return
        if failure is not None and failure.hop_index == k:
            event = self._forward_event(route, htlc_ids, k, HtlcEventKind.LINK_FAIL)
            self.observer.on_htlc_event(
                HtlcEvent(
                    HtlcEventKind.LINK_FAIL,
                    HtlcEventType.FORWARD,
                    now,
                    event.incoming_channel_id,
                    event.outgoing_channel_id,
                    event.incoming_htlc_id,
                    0,
                    event.incoming_amt_msat,
                    event.outgoing_amt_msat,
                    failure.wire,
                    failure.detail,
                    failure.message,
                )
            )
            return
        forwarded = self._forward_event(route, htlc_ids, k, HtlcEventKind.FORWARD)
        self.observer.on_htlc_event(forwarded)
        kind = HtlcEventKind.SETTLE if failure is None else HtlcEventKind.FORWARD_FAIL
        self.observer.on_htlc_event(self._forward_event(route, htlc_ids, k, kind))
        if failure is None:
            self.observer.on_forward(
                Forward(
                    now,
                    forwarded.incoming_channel_id,
                    forwarded.outgoing_channel_id,
                    forwarded.incoming_amt_msat,
                    forwarded.outgoing_amt_msat,
                    forwarded.incoming_amt_msat - forwarded.outgoing_amt_msat,
                    forwarded.incoming_htlc_id,
                    forwarded.outgoing_htlc_id,
                )
            )

    def _forward_event(
        self, route: Route, htlc_ids: list[int], k: int, kind: HtlcEventKind
    ) -> HtlcEvent:
        return HtlcEvent(
            kind,
            HtlcEventType.FORWARD,
            self.now_ns,
            route.channels[k - 1].chan_id,
            route.channels[k].chan_id,
            htlc_ids[k - 1],
            htlc_ids[k],
            route.amounts_msat[k - 1],
            route.amounts_msat[k],
        )
