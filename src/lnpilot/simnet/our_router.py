"""LND's Router on our simulated node: payments (sent with retries, or one HTLC along a
given route), their records, route queries and route building, and the HTLC event stream.
A payment to another node's hold invoice stays in flight until that invoice resolves."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable

from lnpilot.simnet.failures import PaymentFailureReason
from lnpilot.simnet.model import Channel, ChannelState
from lnpilot.simnet.network import AttemptStatus
from lnpilot.simnet.our_state import OurNodeState
from lnpilot.simnet.our_views import SimNodeError
from lnpilot.simnet.payments import PaymentOutcome
from lnpilot.simnet.records import (
    HtlcAttempt,
    HtlcEvent,
    HtlcStatus,
    Invoice,
    InvoiceState,
    Payment,
    PaymentStatus,
)
from lnpilot.simnet.routing import NoRouteError, Route, SearchLimits, build_route

#: How many routes our node tries per payment (LND bounds by time; we bound by count).
OUR_MAX_ATTEMPTS = 20


class RouterService(OurNodeState):
    """SendPayment, SendToRoute, QueryRoutes, BuildRoute, payments, HTLC events."""

    def on_htlc_event(self, event: HtlcEvent) -> None:
        self.htlc_events.append(event)
        for listener in list(self._htlc_listeners):
            listener(event)

    def _on_invoice(self, invoice: Invoice) -> None:
        """Payments to a hold invoice of another node resolve when that invoice does."""
        payment = self.payments.get(invoice.payment_hash)
        if payment is None or payment.status is not PaymentStatus.IN_FLIGHT:
            return
        if invoice.state is InvoiceState.SETTLED:
            payment.status = PaymentStatus.SUCCEEDED
            payment.preimage = invoice.preimage or ""
            for htlc in payment.htlcs:
                if htlc.status is HtlcStatus.IN_FLIGHT:
                    htlc.status = HtlcStatus.SUCCEEDED
                    htlc.resolve_ns = self.network.now_ns
        elif invoice.state is InvoiceState.CANCELED:
            payment.status = PaymentStatus.FAILED
            payment.fee_msat = 0
            payment.failure_reason = PaymentFailureReason.FAILURE_REASON_INCORRECT_PAYMENT_DETAILS
            for htlc in payment.htlcs:
                if htlc.status is HtlcStatus.IN_FLIGHT:
                    htlc.status = HtlcStatus.FAILED
                    htlc.resolve_ns = self.network.now_ns

    def send_payment(
        self,
        payment_request: str | None = None,
        *,
        dest: str | None = None,
        amt_msat: int | None = None,
        fee_limit_msat: int | None = None,
        outgoing_chan_ids: list[int] | None = None,
        last_hop_pubkey: str | None = None,
        allow_self_payment: bool = False,
        max_attempts: int = OUR_MAX_ATTEMPTS,
    ) -> Payment:
        """Pay a BOLT 11 request of this network, or spontaneously to `dest` (keysend).

        Routed over the simulated network with retries; the returned Payment is final unless
        the receiver holds it (IN_FLIGHT until its hold invoice resolves). Requests LND would
        reject before sending (unknown/expired invoice, already paid, no amount) raise.
        """
        net = self.network
        final_cltv = 18
        if payment_request is not None:
            invoice = net.invoices.by_request(payment_request)
            if invoice is None:
                raise SimNodeError("invoice not for current active network")
            if invoice.expired(net.now_ns):
                raise SimNodeError("invoice expired")
            destination = invoice.node
            payment_hash = invoice.payment_hash
            value_msat = invoice.value_msat or (amt_msat or 0)
            final_cltv = invoice.cltv_expiry
            if amt_msat and invoice.value_msat and amt_msat != invoice.value_msat:
                raise SimNodeError("amount must not be specified when paying a non-zero invoice")
        else:
            if dest is None or not amt_msat:
                raise SimNodeError("a destination and an amount are needed without an invoice")
            destination = dest
            preimage = hashlib.sha256(f"keysend:{net.now_ns}:{len(self.payments)}".encode())
            payment_hash = hashlib.sha256(preimage.digest()).hexdigest()
            value_msat = amt_msat
        if value_msat <= 0:
            raise SimNodeError("amount must be specified when paying a zero amount invoice")
        if destination == self.pubkey and not allow_self_payment:
            raise SimNodeError("no self-payments allowed")
        existing = self.payments.get(payment_hash)
        if existing is not None and existing.status is not PaymentStatus.FAILED:
            raise SimNodeError(
                "invoice is already paid"
                if existing.status is PaymentStatus.SUCCEEDED
                else "payment is in transition"
            )
        payment = Payment(
            payment_hash=payment_hash,
            value_msat=value_msat,
            creation_ns=net.now_ns,
            payment_index=len(self._payment_order) + 1,
            payment_request=payment_request or "",
            destination=destination,
        )
        self._remember(payment)
        limits = SearchLimits(
            fee_limit_msat=fee_limit_msat,
            outgoing_chan_ids=frozenset(outgoing_chan_ids) if outgoing_chan_ids else None,
            last_hop_pubkey=last_hop_pubkey,
        )
        outcome = self.payer.pay(
            self.pubkey,
            destination,
            value_msat,
            payment_hash if payment_request is not None else None,
            limits,
            max_attempts,
            final_cltv,
        )
        self._record_outcome(payment, outcome)
        return payment

    def _remember(self, payment: Payment) -> None:
        if payment.payment_hash not in self.payments:
            self._payment_order.append(payment.payment_hash)
        self.payments[payment.payment_hash] = payment

    def _record_outcome(self, payment: Payment, outcome: PaymentOutcome) -> None:
        now = self.network.now_ns
        for route, failure in outcome.attempts:
            self._attempt_ids += 1
            htlc = HtlcAttempt(
                attempt_id=self._attempt_ids,
                route=route,
                status=HtlcStatus.FAILED if failure is not None else HtlcStatus.SUCCEEDED,
                attempt_ns=now,
                resolve_ns=now,
            )
            if failure is not None:
                htlc.failure_wire = failure.wire
                htlc.failure_detail = failure.detail
                htlc.failure_source_index = failure.hop_index
                htlc.failure_chan_id = failure.chan_id
            payment.htlcs.append(htlc)
        if outcome.status is AttemptStatus.SETTLED:
            payment.status = PaymentStatus.SUCCEEDED
            payment.fee_msat = outcome.fee_msat
            invoice = self.network.invoices.by_hash(payment.payment_hash)
            payment.preimage = invoice.preimage or "" if invoice is not None else ""
        elif outcome.status is AttemptStatus.HELD:
            payment.status = PaymentStatus.IN_FLIGHT
            payment.fee_msat = outcome.fee_msat
            payment.htlcs[-1].status = HtlcStatus.IN_FLIGHT
        else:
            payment.status = PaymentStatus.FAILED
            payment.failure_reason = outcome.failure_reason

    def lookup_payment(self, payment_hash: str) -> Payment:
        payment = self.payments.get(payment_hash)
        if payment is None:
            raise SimNodeError("payment isn't initiated")
        return payment

    def list_payments(
        self,
        index_offset: int = 0,
        max_payments: int = 100,
        *,
        include_incomplete: bool = True,
        reversed_order: bool = False,
    ) -> list[Payment]:
        """LND's ListPayments window by payment_index (exclusive offset)."""
        payments = [self.payments[h] for h in self._payment_order]
        if not include_incomplete:
            payments = [p for p in payments if p.status is PaymentStatus.SUCCEEDED]
        if reversed_order:
            upper = index_offset if index_offset else len(self._payment_order) + 1
            return [p for p in payments if p.payment_index < upper][-max_payments:]
        return [p for p in payments if p.payment_index > index_offset][:max_payments]

    def query_routes(
        self,
        dest: str,
        amt_msat: int,
        *,
        fee_limit_msat: int | None = None,
        outgoing_chan_ids: list[int] | None = None,
        last_hop_pubkey: str | None = None,
        ignored_pairs: list[tuple[str, str]] | None = None,
        final_cltv_delta: int = 18,
    ) -> list[Route]:
        """The route our node would try now (LND's QueryRoutes returns one)."""
        limits = SearchLimits(
            fee_limit_msat,
            frozenset(outgoing_chan_ids) if outgoing_chan_ids else None,
            last_hop_pubkey,
            frozenset(ignored_pairs or ()),
        )
        try:
            return [self.payer.find_route(self.pubkey, dest, amt_msat, limits, final_cltv_delta)]
        except NoRouteError as exc:
            raise SimNodeError(f"unable to find a path to destination: {exc}") from exc

    def build_route(
        self,
        amt_msat: int,
        hop_pubkeys: list[str],
        *,
        outgoing_chan_id: int | None = None,
        final_cltv_delta: int = 18,
    ) -> Route:
        """LND's BuildRoute: fees and time locks for a given node sequence.

        Between two hops the open channel with the most capacity is used (our first hop:
        `outgoing_chan_id` if given).
        """
        net = self.network
        path: list[tuple[Channel, int]] = []
        previous = self.pubkey
        for i, pubkey in enumerate(hop_pubkeys):
            candidates = (
                [
                    c
                    for c in (net.channels[cid] for cid in net.nodes[previous].channel_ids)
                    if c.state is ChannelState.OPEN and c.peer_of(previous) == pubkey
                ]
                if previous in net.nodes
                else []
            )
            if i == 0 and outgoing_chan_id is not None:
                candidates = [c for c in candidates if c.chan_id == outgoing_chan_id]
            if not candidates:
                raise SimNodeError(f"no channel from {previous} to {pubkey}")
            chan = max(candidates, key=lambda c: (c.capacity_sat, c.chan_id))
            path.append((chan, chan.side_of(previous)))
            previous = pubkey
        try:
            return build_route(
                self.pubkey, path, amt_msat, net.chain.block_height, final_cltv_delta
            )
        except NoRouteError as exc:
            raise SimNodeError(str(exc)) from exc

    def send_to_route(
        self, payment_hash: str, route: Route, *, keysend_preimage: bytes | None = None
    ) -> HtlcAttempt:
        """One HTLC along a given route (LND's SendToRouteV2); no retry, no route search.

        As on LND, the final node settles only a hash it has an invoice for (ours too: a
        circular rebalance pays our own invoice) or a keysend whose preimage the last hop
        carries; any other hash fails there with INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS.
        """
        net = self.network
        keysend = None
        if keysend_preimage and hashlib.sha256(keysend_preimage).hexdigest() == payment_hash:
            keysend = keysend_preimage.hex()
        if route.source != self.pubkey:
            raise SimNodeError("route does not start at our node")
        payment = self.payments.get(payment_hash)
        if payment is None or payment.status is PaymentStatus.FAILED:
            payment = Payment(
                payment_hash=payment_hash,
                value_msat=route.amounts_msat[-1],
                creation_ns=net.now_ns,
                payment_index=len(self._payment_order) + 1,
                destination=route.destination,
            )
            self._remember(payment)
        elif payment.status is PaymentStatus.SUCCEEDED:
            raise SimNodeError("invoice is already paid")
        status, failure = net.execute(route, None if keysend is not None else payment_hash)
        outcome = PaymentOutcome(status, [(route, failure)])
        if failure is not None:
            outcome.failure_reason = PaymentFailureReason.FAILURE_REASON_ERROR
        self._record_outcome(payment, outcome)
        if keysend is not None and status is AttemptStatus.SETTLED:
            payment.preimage = keysend
        return payment.htlcs[-1]

    def subscribe_htlc_events(self, listener: Callable[[HtlcEvent], None]) -> Callable[[], None]:
        """Call `listener` for each new HTLC event of our node; returns the unsubscriber."""
        self._htlc_listeners.append(listener)
        return lambda: self._htlc_listeners.remove(listener)

    async def htlc_event_stream(self) -> AsyncIterator[HtlcEvent]:
        """HTLC events as an async stream (for LND's `SubscribeHtlcEvents`)."""
        queue: asyncio.Queue[HtlcEvent] = asyncio.Queue()
        unsubscribe = self.subscribe_htlc_events(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()
