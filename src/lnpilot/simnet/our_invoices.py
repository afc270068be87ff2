"""LND's Invoices on our simulated node: invoices of ours (plain and hold), their lookup
and listing by add index, settling and canceling hold invoices, the invoice stream, and
decoding a payment request of the network."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable

from lnpilot.simnet.invoices import InvoiceRequest
from lnpilot.simnet.our_state import OurNodeState
from lnpilot.simnet.our_views import SimNodeError
from lnpilot.simnet.records import Invoice, InvoiceState


class InvoicesService(OurNodeState):
    """AddInvoice/AddHoldInvoice, lookup, list, settle, cancel, subscribe, decode."""

    def add_invoice(
        self,
        value_msat: int,
        memo: str = "",
        *,
        preimage: bytes | None = None,
        payment_hash: bytes | None = None,
        description_hash: bytes | None = None,
        expiry_s: int = 86400,
        cltv_expiry: int = 18,
        private: bool = False,
        hold: bool = False,
    ) -> Invoice:
        """A new invoice of ours (LND AddInvoice; `hold=True` or a hash alone: AddHoldInvoice)."""
        net = self.network
        entropy = hashlib.sha256(
            f"{net.seed}:{self.pubkey}:{len(net.invoices.of_node(self.pubkey))}".encode()
        ).digest()
        request = InvoiceRequest(
            value_msat,
            memo,
            preimage,
            payment_hash,
            description_hash,
            expiry_s,
            cltv_expiry,
            private,
            hold,
        )
        try:
            return net.invoices.create(self.node, request, net.now_ns, entropy)
        except ValueError as exc:
            raise SimNodeError(str(exc)) from exc

    def lookup_invoice(self, payment_hash: str) -> Invoice:
        invoice = self.network.invoices.by_hash(payment_hash)
        if invoice is None or invoice.node != self.pubkey:
            raise SimNodeError("unable to locate invoice")
        self._expire(invoice)
        return invoice

    def list_invoices(
        self,
        index_offset: int = 0,
        num_max_invoices: int = 100,
        *,
        reversed_order: bool = False,
        pending_only: bool = False,
    ) -> list[Invoice]:
        """LND's ListInvoices window by add_index (exclusive offset; reversed pages back)."""
        invoices = self.network.invoices.of_node(self.pubkey)
        for invoice in invoices:
            self._expire(invoice)
        if pending_only:
            invoices = [
                i for i in invoices if i.state in (InvoiceState.OPEN, InvoiceState.ACCEPTED)
            ]
        if reversed_order:
            upper = index_offset if index_offset else len(invoices) + 1
            chosen = [i for i in invoices if i.add_index < upper][-num_max_invoices:]
        else:
            chosen = [i for i in invoices if i.add_index > index_offset][:num_max_invoices]
        return chosen

    def settle_invoice(self, preimage: bytes) -> None:
        """Settle an accepted hold invoice of ours with its preimage."""
        payment_hash = hashlib.sha256(preimage).hexdigest()
        self.lookup_invoice(payment_hash)
        try:
            self.network.settle_held(payment_hash, preimage.hex())
        except ValueError as exc:
            raise SimNodeError(str(exc)) from exc

    def cancel_invoice(self, payment_hash: str) -> None:
        self.lookup_invoice(payment_hash)
        try:
            self.network.cancel_held(payment_hash)
        except ValueError as exc:
            raise SimNodeError(str(exc)) from exc

    def subscribe_invoices(self, listener: Callable[[Invoice], None]) -> Callable[[], None]:
        """Call `listener` whenever one of our invoices is added or changes state."""

        def ours(invoice: Invoice) -> None:
            if invoice.node == self.pubkey:
                listener(invoice)

        return self.network.invoices.subscribe(ours)

    async def invoice_updates(self) -> AsyncIterator[Invoice]:
        """Our invoice changes as an async stream (for LND's streaming subscribe endpoint)."""
        queue: asyncio.Queue[Invoice] = asyncio.Queue()
        unsubscribe = self.subscribe_invoices(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()

    def decode_payment_request(self, payment_request: str) -> Invoice:
        """The invoice behind a payment request issued in this network (LND's DecodePayReq)."""
        invoice = self.network.invoices.by_request(payment_request)
        if invoice is None:
            raise SimNodeError("invoice not for current active network or unknown")
        return invoice

    def _expire(self, invoice: Invoice) -> None:
        if invoice.state is InvoiceState.OPEN and invoice.expired(self.network.now_ns):
            self.network.invoices.cancel(invoice)
