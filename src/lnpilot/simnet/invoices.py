"""Invoices of every node in the network, and who wants to hear when they change.

One book for the whole network because an HTLC's final hop must check the invoice of
whichever node it reaches, and because LNbits pays invoices of simulated nodes as well as
receiving on ours. Invoices are signed BOLT 11 strings; a node without a known private key
(snapshot nodes keep their real pubkeys) signs with a key derived from its pubkey and leaves
out the payee field, so decoders recover a stand-in payee: the book, not the string, is what
the simulation trusts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from lnpilot.simnet import bolt11
from lnpilot.simnet.model import Node
from lnpilot.simnet.records import Invoice, InvoiceState
from lnpilot.simnet.secp256k1 import N, pubkey_of

InvoiceListener = Callable[[Invoice], None]


def stand_in_privkey(pubkey: str) -> int:
    """A signing key for a node whose real key the simulation does not have."""
    return (
        int.from_bytes(hashlib.sha256(b"simnet-invoice-key" + bytes.fromhex(pubkey)).digest())
        % (N - 1)
        + 1
    )


@dataclass(slots=True)
class InvoiceRequest:
    """What a node is asked to invoice (LND's `AddInvoice`/`AddHoldInvoice` inputs)."""

    value_msat: int
    memo: str = ""
    preimage: bytes | None = None
    payment_hash: bytes | None = None
    description_hash: bytes | None = None
    expiry_s: int = 86400
    cltv_expiry: int = 18
    private: bool = False
    hold: bool = False


class InvoiceBook:
    """All invoices by payment hash and by payment request, with change listeners."""

    def __init__(self, network_name: str, start_unix_ns: int) -> None:
        """`start_unix_ns` is the Unix time of virtual time zero: BOLT 11 timestamps are
        Unix times, or LNbits and lnpilot's client would see every invoice as long expired."""
        self.network_name = network_name
        self.start_unix_ns = start_unix_ns
        self._by_hash: dict[str, Invoice] = {}
        self._by_request: dict[str, Invoice] = {}
        self._add_index: dict[str, int] = {}
        self._settle_index: dict[str, int] = {}
        self._listeners: list[InvoiceListener] = []

    def create(self, node: Node, request: InvoiceRequest, now_ns: int, entropy: bytes) -> Invoice:
        """Sign and record a new invoice; `entropy` (32 bytes) makes preimage and secret.

        A caller-given preimage fixes the hash; a caller-given hash without a preimage is a
        hold invoice whose preimage comes at settlement (LND's AddHoldInvoice).
        """
        preimage = request.preimage
        if preimage is None and request.payment_hash is None:
            preimage = hashlib.sha256(b"preimage" + entropy).digest()
        if preimage is not None:
            payment_hash = hashlib.sha256(preimage).digest()
            if request.payment_hash is not None and request.payment_hash != payment_hash:
                raise ValueError("payment_hash does not match the preimage")
        else:
            assert request.payment_hash is not None
            payment_hash = request.payment_hash
        hash_hex = payment_hash.hex()
        if hash_hex in self._by_hash:
            raise ValueError(f"invoice with payment hash {hash_hex} already exists")
        if request.value_msat < 0:
            raise ValueError("value_msat must not be negative")
        payment_secret = hashlib.sha256(b"secret" + entropy).digest()
        has_key = node.privkey is not None
        privkey = node.privkey if node.privkey is not None else stand_in_privkey(node.pubkey)
        payment_request = bolt11.encode(
            privkey=privkey,
            network=self.network_name,
            payment_hash=payment_hash,
            payment_secret=payment_secret,
            value_msat=request.value_msat,
            timestamp_s=(self.start_unix_ns + now_ns) // 1_000_000_000,
            memo=request.memo,
            description_hash=request.description_hash,
            expiry_s=request.expiry_s,
            min_final_cltv_delta=request.cltv_expiry,
            payee=pubkey_of(privkey) if has_key else None,
        )
        add_index = self._add_index.get(node.pubkey, 0) + 1
        self._add_index[node.pubkey] = add_index
        invoice = Invoice(
            node=node.pubkey,
            payment_hash=hash_hex,
            preimage=preimage.hex() if preimage is not None else None,
            value_msat=request.value_msat,
            memo=request.memo,
            description_hash=request.description_hash,
            expiry_s=request.expiry_s,
            creation_ns=now_ns,
            payment_request=payment_request,
            payment_addr=payment_secret,
            cltv_expiry=request.cltv_expiry,
            private=request.private,
            hold=request.hold or preimage is None,
            add_index=add_index,
        )
        self._by_hash[hash_hex] = invoice
        self._by_request[payment_request] = invoice
        self._notify(invoice)
        return invoice

    def by_hash(self, payment_hash: str) -> Invoice | None:
        return self._by_hash.get(payment_hash)

    def by_request(self, payment_request: str) -> Invoice | None:
        return self._by_request.get(payment_request.lower())

    def of_node(self, pubkey: str) -> list[Invoice]:
        """A node's invoices in creation order."""
        return sorted(
            (inv for inv in self._by_hash.values() if inv.node == pubkey),
            key=lambda inv: inv.add_index,
        )

    def accept(self, invoice: Invoice, amt_msat: int) -> None:
        """An HTLC set for a hold invoice arrived and is held (state ACCEPTED)."""
        invoice.state = InvoiceState.ACCEPTED
        invoice.amt_paid_msat = amt_msat
        self._notify(invoice)

    def settle(self, invoice: Invoice, amt_msat: int, now_ns: int, preimage: str | None) -> None:
        """Mark paid; a hold invoice learns its preimage here."""
        if preimage is not None:
            invoice.preimage = preimage
        settle_index = self._settle_index.get(invoice.node, 0) + 1
        self._settle_index[invoice.node] = settle_index
        invoice.state = InvoiceState.SETTLED
        invoice.amt_paid_msat = amt_msat
        invoice.settle_ns = now_ns
        invoice.settle_index = settle_index
        self._notify(invoice)

    def cancel(self, invoice: Invoice) -> None:
        invoice.state = InvoiceState.CANCELED
        self._notify(invoice)

    def subscribe(self, listener: InvoiceListener) -> Callable[[], None]:
        """Call `listener` on every invoice added or changed; returns the unsubscriber."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _notify(self, invoice: Invoice) -> None:
        for listener in list(self._listeners):
            listener(invoice)
