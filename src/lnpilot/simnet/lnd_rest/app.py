"""The LND REST face of our simulated node: the paths LNbits and a node manager call.

A real LNbits (``LndRestWallet`` / ``LndRestNode``) and lnpilot's own LND adapter talk to this
app exactly as they would to LND's REST proxy, so it reproduces LND's paths, JSON
(`messages`), error bodies and status codes (`errors`), macaroon header, and streaming
behaviour (newline-delimited ``{"result": ...}`` objects; an error before the first object is
an HTTP error whose body is ``{"error": status}``).

Threading: uvicorn runs this app in its own thread (see `server`), while the simulation may be
advanced by another one. Every call into `OurNode` holds ``lock``; whoever else mutates the
network must hold the same lock. Listener callbacks from the simulation reach open streams
through ``loop.call_soon_threadsafe``, so they may fire in any thread.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from lnpilot.base import bech32
from lnpilot.simnet.lnd_rest import messages as m
from lnpilot.simnet.lnd_rest import translate as t
from lnpilot.simnet.lnd_rest.errors import GrpcCode, LndError
from lnpilot.simnet.model import ChannelState, CloseType
from lnpilot.simnet.our_node import OurNode, SimNodeError
from lnpilot.simnet.records import HtlcEvent, Invoice, InvoiceState, PaymentStatus
from lnpilot.simnet.routing import DEFAULT_FINAL_CLTV_DELTA

MACAROON_HEADER = "Grpc-Metadata-macaroon"
#: How often a stream waiting for a state change (a payment in flight, a closing channel)
#: looks again; the simulation's own notifications do not cover every such change.
POLL_INTERVAL_S = 0.05
#: LND's minimum CLTV delta for `UpdateChannelPolicy`.
MIN_TIME_LOCK_DELTA = 18
#: LND's page size when `num_max_invoices` is 0.
DEFAULT_MAX_INVOICES = 100
#: LND's page size when `num_max_events` is 0.
DEFAULT_MAX_EVENTS = 100
#: The TLV record of a keysend preimage (as a JSON map key: LND writes uint64 keys as text).
KEYSEND_RECORD = "5482373484"

_STREAM_TAG = "stream"
_M = TypeVar("_M", bound=m.LndMessage)


def _hex_param(value: str, what: str) -> str:
    """A hex path parameter (pubkey, payment hash), normalised, or INVALID_ARGUMENT."""
    try:
        return bytes.fromhex(value).hex()
    except ValueError:
        raise LndError(
            f"unable to decode {what}: {value!r} is not hex", GrpcCode.INVALID_ARGUMENT
        ) from None


def _b64_param(value: str, what: str) -> bytes:
    """A bytes path/query parameter: base64 (standard or URL-safe), as grpc-gateway reads it."""
    try:
        return m.decode_b64(value)
    except ValueError:
        raise LndError(f"unable to decode {what}: not base64", GrpcCode.INVALID_ARGUMENT) from None


async def _body(request: Request, model: type[_M]) -> _M:
    """The request body as an LND message; bad JSON or fields are INVALID_ARGUMENT."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
        return model.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise LndError(f"invalid request body: {exc}", GrpcCode.INVALID_ARGUMENT) from exc


def _lines(items: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    """A grpc-gateway stream: one JSON object per line."""

    async def encode() -> AsyncIterator[bytes]:
        async for item in items:
            yield json.dumps(item, separators=(",", ":")).encode() + b"\n"

    return StreamingResponse(encode(), media_type="application/json")


def _result(msg: m.LndMessage) -> dict[str, Any]:
    return {"result": msg.to_json()}


class _Feed:
    """Items pushed from any thread, awaited on the event loop that created the feed."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def push(self, item: dict[str, Any]) -> None:
        """Queue `item`; dropped once the server's loop is gone, so a simulation that
        outlives its face is never disturbed by a stream nobody reads any more."""
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the event loop is closed
            return

    async def get(self) -> dict[str, Any]:
        return await self._queue.get()

    async def items(
        self, lock: threading.RLock, unsubscribe: Callable[[], None]
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item pushed, for as long as the reader reads; then `unsubscribe` (under
        `lock`), so a closed stream stops being fed."""
        try:
            while True:
                yield await self.get()
        finally:
            with lock:
                unsubscribe()


class _Face:
    """The handlers, bound to one `OurNode` and the lock that guards it."""

    def __init__(self, node: OurNode, lock: threading.RLock) -> None:
        self.node = node
        self.lock = lock
        self.start_ns = node.network.config.start_unix_ns

    @contextmanager
    def _locked(self) -> Iterator[OurNode]:
        with self.lock:
            yield self.node

    # --- node, chain, balances ---------------------------------------------------------

    async def get_info(self) -> dict[str, Any]:
        with self._locked() as node:
            return t.get_info(node.get_info(), self.start_ns).to_json()

    async def channel_balance(self) -> dict[str, Any]:
        with self._locked() as node:
            return t.channel_balance(node.channel_balance()).to_json()

    async def wallet_balance(self) -> dict[str, Any]:
        with self._locked() as node:
            return t.wallet_balance(*node.wallet_balance()).to_json()

    async def estimate_fee(self, request: Request) -> dict[str, Any]:
        """EstimateFee: its outputs come as ``AddrToAmount[address]=sat`` query pairs."""
        outputs = {
            key[len("AddrToAmount[") : -1]: value
            for key, value in request.query_params.items()
            if key.startswith("AddrToAmount[") and key.endswith("]")
        }
        if not outputs:
            raise LndError("must specify at least one output", GrpcCode.INVALID_ARGUMENT)
        total_sat = 0
        for address, amount in outputs.items():
            try:
                _, words = bech32.decode(address)
                total_sat += int(amount)
            except ValueError:
                raise LndError(
                    f"invalid output {address}={amount}", GrpcCode.INVALID_ARGUMENT
                ) from None
            if not words or words[0] > 16:
                raise LndError(f"{address} is not a segwit address", GrpcCode.INVALID_ARGUMENT)
        with self._locked() as node:
            try:
                fee_sat, rate = node.estimate_fee(total_sat)
            except SimNodeError as exc:
                raise LndError(str(exc)) from exc
        return m.EstimateFeeResponse(
            fee_sat=fee_sat, feerate_sat_per_byte=rate, sat_per_vbyte=rate
        ).to_json()

    async def fee_report(self) -> dict[str, Any]:
        with self._locked() as node:
            return t.fee_report(node.fee_report()).to_json()

    # --- peers and graph ---------------------------------------------------------------

    async def list_peers(self) -> dict[str, Any]:
        with self._locked() as node:
            peers = [t.peer(p) for p in node.peers()]
        return m.ListPeersResponse(peers=peers).to_json()

    async def connect_peer(self, request: Request) -> dict[str, Any]:
        req = await _body(request, m.ConnectPeerRequest)
        if req.addr is None or not req.addr.pubkey:
            raise LndError("need: lnc pubkeyhash@hostname", GrpcCode.INVALID_ARGUMENT)
        pubkey = _hex_param(req.addr.pubkey, "pubkey")
        with self._locked() as node:
            node.connect_peer(pubkey)
        return m.ConnectPeerResponse(
            status=f"connection to {pubkey}@{req.addr.host} initiated"
        ).to_json()

    async def disconnect_peer(self, pub_key: str) -> dict[str, Any]:
        pubkey = _hex_param(pub_key, "pubkey")
        with self._locked() as node:
            try:
                node.disconnect_peer(pubkey)
            except SimNodeError as exc:
                raise LndError(f"unable to disconnect peer: {exc}") from exc
        return m.DisconnectPeerResponse(status="disconnect initiated").to_json()

    async def graph_node(self, pub_key: str, include_channels: bool = False) -> dict[str, Any]:
        pubkey = _hex_param(pub_key, "pubkey")
        with self._locked() as node:
            try:
                view = node.graph_node(pubkey)
            except SimNodeError as exc:
                raise LndError(str(exc), GrpcCode.NOT_FOUND) from exc
            edges = (
                [t.channel_edge(node.graph_edge(cid), self.start_ns) for cid in view.chan_ids]
                if include_channels
                else None
            )
        return t.graph_node(view, self.start_ns, edges).to_json()

    async def describe_graph(self, include_unannounced: bool = False) -> dict[str, Any]:
        with self._locked() as node:
            views, chans = node.graph()
            graph = m.ChannelGraph(
                nodes=[n for v in views if (n := t.graph_node(v, self.start_ns).node)],
                edges=[t.channel_edge(c, self.start_ns) for c in chans],
            )
        return graph.to_json()

    async def graph_edge(self, chan_id: int) -> dict[str, Any]:
        with self._locked() as node:
            return t.channel_edge(node.graph_edge(chan_id), self.start_ns).to_json()

    # --- channels ----------------------------------------------------------------------

    async def list_channels(
        self,
        active_only: bool = False,
        inactive_only: bool = False,
        public_only: bool = False,
        private_only: bool = False,
        peer: str | None = None,
        peer_alias_lookup: bool = False,
    ) -> dict[str, Any]:
        peer_hex = _b64_param(peer, "peer").hex() if peer else None
        with self._locked() as node:
            views = node.channels(
                active_only=active_only, inactive_only=inactive_only, peer=peer_hex
            )
            # LND answers each peer's alias from its graph when asked; lnpilot asks, so
            # without this every peer would show as a bare pubkey in the demo.
            aliases = {p: n.alias for p, n in node.network.nodes.items()}
        if public_only:
            views = [v for v in views if not v.private]
        if private_only:
            views = [v for v in views if v.private]
        msgs = [t.channel(v) for v in views]
        if peer_alias_lookup:
            for msg in msgs:
                msg.peer_alias = aliases.get(msg.remote_pubkey, "")
        return m.ListChannelsResponse(channels=msgs).to_json()

    async def pending_channels(self) -> dict[str, Any]:
        with self._locked() as node:
            pending = node.pending_channels()
            response = t.pending_channels(
                [(v, node.channel(v.chan_id)) for v in pending.pending_open],
                [(v, node.channel(v.chan_id)) for v in pending.waiting_close],
                pending.pending_force_closing,
                node.network.chain.block_height,
            )
        return response.to_json()

    async def closed_channels(
        self,
        cooperative: bool = False,
        local_force: bool = False,
        remote_force: bool = False,
        breach: bool = False,
        funding_canceled: bool = False,
        abandoned: bool = False,
    ) -> dict[str, Any]:
        wanted = {
            kind
            for kind, asked in (
                (CloseType.COOPERATIVE_CLOSE, cooperative),
                (CloseType.LOCAL_FORCE_CLOSE, local_force),
                (CloseType.REMOTE_FORCE_CLOSE, remote_force),
            )
            if asked
        }
        filtered = wanted or breach or funding_canceled or abandoned
        with self._locked() as node:
            closed = node.closed_channels()
            network = node.network.config.network_name
        summaries = [
            t.closed_channel(c, network) for c in closed if not filtered or c.close_type in wanted
        ]
        return m.ClosedChannelsResponse(channels=summaries).to_json()

    async def open_channel(self, request: Request) -> dict[str, Any]:
        req = await _body(request, m.OpenChannelRequest)
        if req.node_pubkey:
            pubkey = req.node_pubkey.hex()
        else:
            pubkey = _hex_param(req.node_pubkey_string, "node_pubkey_string")
        if req.local_funding_amount <= 0:
            raise LndError("local_funding_amount must be positive", GrpcCode.INVALID_ARGUMENT)
        with self._locked() as node:
            chan = node.open_channel(
                pubkey,
                req.local_funding_amount,
                req.push_sat,
                private=req.private,
                remote_reserve_sat=req.remote_chan_reserve_sat or None,
            )
            point = chan.channel_point
        return t.channel_point_message(point).to_json()

    async def close_channel(
        self,
        funding_txid_str: str,
        output_index: int,
        force: bool = False,
        no_wait: bool = False,
        sat_per_vbyte: int = 0,
    ) -> StreamingResponse:
        point = f"{funding_txid_str}:{output_index}"
        with self._locked() as node:
            closing_txid = node.close_channel(point, force=force)
            chan = node.channel_by_point(point)

        async def updates() -> AsyncIterator[dict[str, Any]]:
            if no_wait:
                yield _result(m.CloseStatusUpdate(close_instant=m.InstantUpdate()))
                return
            yield _result(
                m.CloseStatusUpdate(
                    close_pending=m.PendingUpdate(
                        txid=t.txid_bytes(closing_txid), local_close_tx=True
                    )
                )
            )
            while True:
                with self.lock:
                    closed = chan.state is ChannelState.CLOSED
                if closed:
                    break
                await asyncio.sleep(POLL_INTERVAL_S)
            yield _result(
                m.CloseStatusUpdate(
                    chan_close=m.ChannelCloseUpdate(
                        closing_txid=t.txid_bytes(closing_txid), success=True
                    )
                )
            )

        return _lines(updates())

    async def update_policy(self, request: Request) -> dict[str, Any]:
        """LND's UpdateChannelPolicy, with LND's rules on what a request changes.

        Base fee and fee rate are always applied (proto3 cannot tell 0 from unset); the max
        HTLC changes only when non-zero, the min HTLC only with ``min_htlc_msat_specified``,
        and the inbound fee only when the ``inbound_fee`` object is present, so an update
        that leaves it out keeps the old inbound fee.
        """
        req = await _body(request, m.PolicyUpdateRequest)
        if req.fee_rate and req.fee_rate_ppm:
            raise LndError("fee_rate and fee_rate_ppm are mutually exclusive")
        if req.time_lock_delta < MIN_TIME_LOCK_DELTA:
            raise LndError(
                f"time lock delta of {req.time_lock_delta} is too small, "
                f"minimum supported is {MIN_TIME_LOCK_DELTA}"
            )
        fee_rate_ppm = round(req.fee_rate * 1_000_000) if req.fee_rate else req.fee_rate_ppm
        if req.chan_point is None and not req.global_:
            raise LndError("unknown scope: must be global or a channel point")
        point = (
            None if req.global_ or req.chan_point is None else t.channel_point_text(req.chan_point)
        )
        inbound = req.inbound_fee
        with self._locked() as node:
            try:
                failed = node.update_channel_policy(
                    point,
                    base_fee_msat=req.base_fee_msat,
                    fee_rate_ppm=fee_rate_ppm,
                    time_lock_delta=req.time_lock_delta,
                    min_htlc_msat=req.min_htlc_msat if req.min_htlc_msat_specified else None,
                    max_htlc_msat=req.max_htlc_msat or None,
                    inbound_base_fee_msat=inbound.base_fee_msat if inbound else None,
                    inbound_fee_rate_ppm=inbound.fee_rate_ppm if inbound else None,
                )
                reason = m.UpdateFailure.UPDATE_FAILURE_INVALID_PARAMETER
            except SimNodeError as exc:
                if point is None or "unable to find channel" not in str(exc):
                    raise
                failed = [point]
                reason = m.UpdateFailure.UPDATE_FAILURE_NOT_FOUND
        return m.PolicyUpdateResponse(
            failed_updates=[_failed_update(p, reason) for p in failed]
        ).to_json()

    async def update_chan_status(self, request: Request) -> dict[str, Any]:
        """ENABLE and DISABLE set our direction's flag; AUTO hands it back, i.e. enables."""
        req = await _body(request, m.UpdateChanStatusRequest)
        if req.chan_point is None:
            raise LndError("chan_point is required", GrpcCode.INVALID_ARGUMENT)
        point = t.channel_point_text(req.chan_point)
        with self._locked() as node:
            node.set_channel_enabled(point, req.action is not m.ChanStatusAction.DISABLE)
        return m.UpdateChanStatusResponse().to_json()

    def _backup_snapshot(self) -> dict[str, Any]:
        with self._locked() as node:
            blobs = node.channel_backup()
            return t.channel_backups(blobs, node.multi_channel_backup(blobs)).to_json()

    async def channel_backup(self) -> dict[str, Any]:
        return self._backup_snapshot()

    async def subscribe_channel_backups(self) -> StreamingResponse:
        """SubscribeChannelBackups: nothing at first, then the whole snapshot after each
        change of the set of channels (opened, pending, closed), as LND sends it; the
        changes that leave the set as it was (a balance, a fee) send nothing."""
        feed = _Feed()
        with self._locked() as node:
            last = [set(node.channel_backup())]

        def on_change(_chan: object) -> None:
            with self.lock:
                points = set(self.node.channel_backup())
            if points != last[0]:
                last[0] = points
                feed.push({"result": self._backup_snapshot()})

        with self._locked() as node:
            unsubscribe = node.subscribe_channels(on_change)

        return _lines(feed.items(self.lock, unsubscribe))

    async def verify_channel_backup(self, request: Request) -> dict[str, Any]:
        """VerifyChanBackup: a Single or a Multi, not both; one Single at a time."""
        req = await _body(request, m.ChanBackupSnapshot)
        singles = req.single_chan_backups
        if singles is not None and req.multi_chan_backup is not None:
            raise LndError(
                "either a Single or Multi channel backup must be specified, but not both"
            )
        if singles is not None and len(singles.chan_backups) != 1:
            raise LndError("only one Single is accepted at a time")
        with self._locked() as node:
            points = node.verify_channel_backup(
                multi=req.multi_chan_backup.multi_chan_backup if req.multi_chan_backup else None,
                single=singles.chan_backups[0].chan_backup if singles is not None else None,
            )
        return m.VerifyChanBackupResponse(chan_points=points).to_json()

    async def forwarding_history(self, request: Request) -> dict[str, Any]:
        """Forwards in [start_time, end_time), paged by offset; the id filters narrow first."""
        req = await _body(request, m.ForwardingHistoryRequest)
        limit = req.num_max_events or DEFAULT_MAX_EVENTS
        start_ns = req.start_time * t.NS_PER_S - self.start_ns
        with self._locked() as node:
            end_ns = (
                req.end_time * t.NS_PER_S - self.start_ns
                if req.end_time
                else node.network.now_ns + 1
            )
            if req.incoming_chan_ids or req.outgoing_chan_ids:
                incoming = set(req.incoming_chan_ids)
                outgoing = set(req.outgoing_chan_ids)
                matching = [
                    f
                    for f in node.forwards
                    if start_ns <= f.timestamp_ns < end_ns
                    and (not incoming or f.chan_id_in in incoming)
                    and (not outgoing or f.chan_id_out in outgoing)
                ]
                events = matching[req.index_offset : req.index_offset + limit]
                last = req.index_offset + len(events)
            else:
                events, last = node.forwarding_history(start_ns, end_ns, req.index_offset, limit)
            aliases = {p: n.alias for p, n in node.network.nodes.items()}
            peer_of = {
                c.chan_id: c.peer_of(node.pubkey)
                for c in node.network.channels.values()
                if node.pubkey in (c.node1, c.node2)
            }
        msgs = [t.forwarding_event(f, self.start_ns) for f in events]
        if req.peer_alias_lookup:
            for msg in msgs:
                msg.peer_alias_in = aliases.get(peer_of.get(msg.chan_id_in, ""), "")
                msg.peer_alias_out = aliases.get(peer_of.get(msg.chan_id_out, ""), "")
        return m.ForwardingHistoryResponse(forwarding_events=msgs, last_offset_index=last).to_json()

    # --- invoices ----------------------------------------------------------------------

    async def add_invoice(self, request: Request) -> dict[str, Any]:
        req = await _body(request, m.Invoice)
        if req.value and req.value_msat:
            raise LndError("value and value_msat are mutually exclusive")
        value_msat = req.value_msat or req.value * 1000
        with self._locked() as node:
            inv = node.add_invoice(
                value_msat,
                req.memo,
                preimage=req.r_preimage or None,
                description_hash=req.description_hash or None,
                **_invoice_options(req.expiry, req.cltv_expiry, req.private),
            )
            return m.AddInvoiceResponse(
                r_hash=bytes.fromhex(inv.payment_hash),
                payment_request=inv.payment_request,
                add_index=inv.add_index,
                payment_addr=inv.payment_addr,
            ).to_json()

    async def add_hold_invoice(self, request: Request) -> dict[str, Any]:
        req = await _body(request, m.AddHoldInvoiceRequest)
        if len(req.hash) != 32:
            raise LndError("hash must be 32 bytes", GrpcCode.INVALID_ARGUMENT)
        if req.value and req.value_msat:
            raise LndError("value and value_msat are mutually exclusive")
        with self._locked() as node:
            inv = node.add_invoice(
                req.value_msat or req.value * 1000,
                req.memo,
                payment_hash=req.hash,
                description_hash=req.description_hash or None,
                hold=True,
                **_invoice_options(req.expiry, req.cltv_expiry, req.private),
            )
            return m.AddHoldInvoiceResp(
                payment_request=inv.payment_request,
                add_index=inv.add_index,
                payment_addr=inv.payment_addr,
            ).to_json()

    async def settle_invoice(self, request: Request) -> dict[str, Any]:
        req = await _body(request, m.SettleInvoiceMsg)
        with self._locked() as node:
            node.settle_invoice(req.preimage)
        return m.SettleInvoiceResp().to_json()

    async def cancel_invoice(self, request: Request) -> dict[str, Any]:
        req = await _body(request, m.CancelInvoiceMsg)
        with self._locked() as node:
            node.cancel_invoice(req.payment_hash.hex())
        return m.CancelInvoiceResp().to_json()

    async def lookup_invoice(self, r_hash_str: str) -> dict[str, Any]:
        payment_hash = _hex_param(r_hash_str, "payment hash")
        with self._locked() as node:
            try:
                return t.invoice(node.lookup_invoice(payment_hash), self.start_ns).to_json()
            except SimNodeError as exc:
                raise LndError(str(exc), GrpcCode.NOT_FOUND) from exc

    async def list_invoices(
        self,
        pending_only: bool = False,
        index_offset: int = 0,
        num_max_invoices: int = 0,
        reversed: bool = False,
    ) -> dict[str, Any]:
        with self._locked() as node:
            invoices = [
                t.invoice(i, self.start_ns)
                for i in node.list_invoices(
                    index_offset,
                    num_max_invoices or DEFAULT_MAX_INVOICES,
                    reversed_order=reversed,
                    pending_only=pending_only,
                )
            ]
        return m.ListInvoiceResponse(
            invoices=invoices,
            first_index_offset=invoices[0].add_index if invoices else 0,
            last_index_offset=invoices[-1].add_index if invoices else 0,
        ).to_json()

    async def subscribe_invoices(
        self, add_index: int = 0, settle_index: int = 0
    ) -> StreamingResponse:
        """Added and settled invoices, held open; LND does not send cancels or accepts here."""
        feed = _Feed()

        def on_invoice(inv: Invoice) -> None:
            if inv.state in (InvoiceState.OPEN, InvoiceState.SETTLED):
                feed.push(_result(t.invoice(inv, self.start_ns)))

        with self._locked() as node:
            unsubscribe = node.subscribe_invoices(on_invoice)
            backlog = node.list_invoices(0, 2**31) if add_index or settle_index else []
            for inv in backlog:
                if add_index and inv.add_index > add_index:
                    feed.push(_result(t.invoice(inv, self.start_ns)))
            for inv in sorted(backlog, key=lambda i: i.settle_index):
                if settle_index and inv.settle_index > settle_index:
                    feed.push(_result(t.invoice(inv, self.start_ns)))

        return _lines(feed.items(self.lock, unsubscribe))

    # --- payments and routes -----------------------------------------------------------

    async def send_payment(self, request: Request) -> StreamingResponse:
        """SendPaymentV2: the current state, then each change until final.

        With ``no_inflight_updates`` only the final state is written, so a client that reads
        the whole body as one JSON object (LNbits) gets exactly one.
        """
        req = await _body(request, m.SendPaymentRequest)
        if req.timeout_seconds <= 0:
            raise LndError("timeout_seconds must be specified")
        if req.fee_limit_sat and req.fee_limit_msat:
            raise LndError("fee_limit_sat and fee_limit_msat are mutually exclusive")
        if req.amt and req.amt_msat:
            raise LndError("amt and amt_msat are mutually exclusive")
        with self._locked() as node:
            try:
                payment = node.send_payment(
                    req.payment_request or None,
                    dest=req.dest.hex() or None,
                    amt_msat=req.amt_msat or req.amt * 1000 or None,
                    fee_limit_msat=req.fee_limit_msat or req.fee_limit_sat * 1000,
                    outgoing_chan_ids=list(req.outgoing_chan_ids) or None,
                    last_hop_pubkey=req.last_hop_pubkey.hex() or None,
                    allow_self_payment=req.allow_self_payment,
                )
            except SimNodeError as exc:
                raise _payment_error(exc) from exc
            payment_hash = payment.payment_hash
        return _lines(self._payment_updates(payment_hash, req.no_inflight_updates))

    async def track_payment(
        self, payment_hash: str, no_inflight_updates: bool = False
    ) -> StreamingResponse:
        hash_hex = _b64_param(payment_hash, "payment_hash").hex()
        with self._locked() as node:
            try:
                node.lookup_payment(hash_hex)
            except SimNodeError as exc:
                raise LndError(str(exc), GrpcCode.NOT_FOUND) from exc
        return _lines(self._payment_updates(hash_hex, no_inflight_updates))

    async def _payment_updates(
        self, payment_hash: str, no_inflight_updates: bool
    ) -> AsyncIterator[dict[str, Any]]:
        last: dict[str, Any] | None = None
        while True:
            with self._locked() as node:
                payment = node.lookup_payment(payment_hash)
                final = payment.status is not PaymentStatus.IN_FLIGHT
                line = _result(t.payment(payment, self.start_ns))
            if line != last and (final or not no_inflight_updates):
                yield line
                last = line
            if final:
                return
            await asyncio.sleep(POLL_INTERVAL_S)

    async def list_payments(
        self,
        include_incomplete: bool = False,
        index_offset: int = 0,
        max_payments: int = 0,
        reversed: bool = False,
        count_total_payments: bool = False,
    ) -> dict[str, Any]:
        with self._locked() as node:
            payments = node.list_payments(
                index_offset,
                max_payments or 2**31,
                include_incomplete=include_incomplete,
                reversed_order=reversed,
            )
            total = len(node.list_payments(0, 2**31, include_incomplete=include_incomplete))
            msgs = [t.payment(p, self.start_ns) for p in payments]
        return m.ListPaymentsResponse(
            payments=msgs,
            first_index_offset=msgs[0].payment_index if msgs else 0,
            last_index_offset=msgs[-1].payment_index if msgs else 0,
            total_num_payments=total if count_total_payments else 0,
        ).to_json()

    async def query_routes(
        self,
        pub_key: str,
        amt: int,
        amt_msat: Annotated[int, Query()] = 0,
        final_cltv_delta: Annotated[int, Query()] = 0,
        fee_limit_fixed: Annotated[int, Query(alias="fee_limit.fixed")] = 0,
        fee_limit_fixed_msat: Annotated[int, Query(alias="fee_limit.fixed_msat")] = 0,
        fee_limit_percent: Annotated[int, Query(alias="fee_limit.percent")] = 0,
        outgoing_chan_ids: Annotated[list[int] | None, Query()] = None,
        last_hop_pubkey: Annotated[str | None, Query()] = None,
    ) -> dict[str, Any]:
        """QueryRoutes: the one route our node would try now, for ``amt`` sat (or msat)."""
        dest = _hex_param(pub_key, "pub_key")
        value_msat = amt_msat or amt * 1000
        if fee_limit_fixed_msat:
            fee_limit: int | None = fee_limit_fixed_msat
        elif fee_limit_fixed:
            fee_limit = fee_limit_fixed * 1000
        elif fee_limit_percent:
            fee_limit = value_msat * fee_limit_percent // 100
        else:
            fee_limit = None
        last_hop = _b64_param(last_hop_pubkey, "last_hop_pubkey").hex() if last_hop_pubkey else None
        with self._locked() as node:
            routes = node.query_routes(
                dest,
                value_msat,
                fee_limit_msat=fee_limit,
                outgoing_chan_ids=outgoing_chan_ids,
                last_hop_pubkey=last_hop,
                final_cltv_delta=final_cltv_delta or DEFAULT_FINAL_CLTV_DELTA,
            )
            msgs = [t.route(r) for r in routes]
        return m.QueryRoutesResponse(routes=msgs, success_prob=1.0 if msgs else 0.0).to_json()

    async def build_route(self, request: Request) -> dict[str, Any]:
        req = await _body(request, m.BuildRouteRequest)
        with self._locked() as node:
            r = node.build_route(
                req.amt_msat,
                [p.hex() for p in req.hop_pubkeys],
                outgoing_chan_id=req.outgoing_chan_id or None,
                final_cltv_delta=req.final_cltv_delta or DEFAULT_FINAL_CLTV_DELTA,
            )
            return m.BuildRouteResponse(route=t.route(r, req.payment_addr or None)).to_json()

    async def send_to_route(self, request: Request) -> dict[str, Any]:
        req = await _body(request, m.SendToRouteRequest)
        if req.route is None or len(req.payment_hash) != 32:
            raise LndError("a route and a 32-byte payment_hash are required")
        with self._locked() as node:
            try:
                r = t.route_from_message(req.route, node.pubkey, node.network.channels)
            except ValueError as exc:
                raise LndError(str(exc), GrpcCode.INVALID_ARGUMENT) from exc
            try:
                attempt = node.send_to_route(
                    req.payment_hash.hex(),
                    r,
                    keysend_preimage=req.route.hops[-1].custom_records.get(KEYSEND_RECORD),
                )
            except SimNodeError as exc:
                raise _payment_error(exc) from exc
            preimage = node.lookup_payment(req.payment_hash.hex()).preimage
            return t.htlc_attempt(attempt, preimage, self.start_ns).to_json()

    async def htlc_events(self) -> StreamingResponse:
        """Our node's HTLC events, after LND's opening ``subscribed_event``."""
        feed = _Feed()

        def on_event(event: HtlcEvent) -> None:
            feed.push(_result(t.htlc_event(event, self.start_ns)))

        with self._locked() as node:
            unsubscribe = node.subscribe_htlc_events(on_event)

        async def updates() -> AsyncIterator[dict[str, Any]]:
            try:
                yield _result(m.HtlcEvent(subscribed_event=m.SubscribedEvent()))
                while True:
                    yield await feed.get()
            finally:
                with self.lock:
                    unsubscribe()

        return _lines(updates())


def _invoice_options(expiry: int, cltv_expiry: int, private: bool) -> dict[str, Any]:
    """Invoice settings a request gave; LND's zero means "the default", so it is left out."""
    options: dict[str, Any] = {"private": private}
    if expiry:
        options["expiry_s"] = expiry
    if cltv_expiry:
        options["cltv_expiry"] = cltv_expiry
    return options


def _payment_error(exc: SimNodeError) -> LndError:
    """LND answers a payment it already has with ALREADY_EXISTS, other refusals UNKNOWN."""
    message = str(exc)
    if "already paid" in message or "in transition" in message:
        return LndError(message, GrpcCode.ALREADY_EXISTS)
    return LndError(message)


def _failed_update(point: str, reason: m.UpdateFailure) -> m.FailedUpdate:
    txid, index = point.split(":")
    return m.FailedUpdate(
        outpoint=m.OutPoint(txid_bytes=t.txid_bytes(txid), txid_str=txid, output_index=int(index)),
        reason=reason,
        update_error=(
            f"unable to find channel {point}"
            if reason is m.UpdateFailure.UPDATE_FAILURE_NOT_FOUND
            else f"invalid policy for channel {point}"
        ),
    )


def _is_stream(request: Request) -> bool:
    route = request.scope.get("route")
    return _STREAM_TAG in getattr(route, "tags", ())


def _error_response(request: Request, error: LndError) -> Response:
    body = error.stream_json() if _is_stream(request) else error.status_json()
    return JSONResponse(body, status_code=error.http_status)


def create_app(
    our_node: OurNode, macaroon_hex: str, *, lock: threading.RLock | None = None
) -> FastAPI:
    """The LND REST app for `our_node`; requests must carry `macaroon_hex` in the header.

    `lock` guards the simulation; pass the one the simulation's driver holds while it
    advances the network (a fresh one is made otherwise).
    """
    expected = macaroon_hex.lower().encode()

    async def check_macaroon(request: Request) -> None:
        # LND itself answers both cases with gRPC UNKNOWN; 401/403 codes say it plainly and
        # LNbits reads them as "certainly not paid", which is the truth here.
        sent = request.headers.get(MACAROON_HEADER)
        if not sent:
            raise LndError("expected 1 macaroon, got 0", GrpcCode.UNAUTHENTICATED)
        if not hmac.compare_digest(sent.strip().lower().encode(), expected):
            raise LndError(
                "verification failed: signature mismatch after caveat verification",
                GrpcCode.PERMISSION_DENIED,
            )

    app = FastAPI(
        title="lnpilot simnet LND REST face",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(check_macaroon)],
    )
    face = _Face(our_node, lock or threading.RLock())
    app.state.face = face

    @app.exception_handler(LndError)
    async def on_lnd_error(request: Request, exc: LndError) -> Response:
        return _error_response(request, exc)

    @app.exception_handler(SimNodeError)
    async def on_sim_error(request: Request, exc: SimNodeError) -> Response:
        return _error_response(request, LndError(str(exc)))

    @app.exception_handler(RequestValidationError)
    async def on_bad_request(request: Request, exc: RequestValidationError) -> Response:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
        )
        return _error_response(request, LndError(details, GrpcCode.INVALID_ARGUMENT))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_response(request, LndError.from_http(exc.status_code, str(exc.detail)))

    for method, path, handler, streaming in _routes(face):
        app.add_api_route(
            path,
            handler,
            methods=[method],
            tags=[_STREAM_TAG] if streaming else [],
            response_class=StreamingResponse if streaming else JSONResponse,
        )
    return app


def _routes(face: _Face) -> list[tuple[str, str, Callable[..., Any], bool]]:
    """Every (method, path, handler, streams?) served, with LND's path names."""
    return [
        ("GET", "/v1/getinfo", face.get_info, False),
        ("GET", "/v1/balance/channels", face.channel_balance, False),
        ("GET", "/v1/balance/blockchain", face.wallet_balance, False),
        ("GET", "/v1/fees", face.fee_report, False),
        ("GET", "/v1/transactions/fee", face.estimate_fee, False),
        ("GET", "/v1/peers", face.list_peers, False),
        ("POST", "/v1/peers", face.connect_peer, False),
        ("DELETE", "/v1/peers/{pub_key}", face.disconnect_peer, False),
        ("GET", "/v1/graph", face.describe_graph, False),
        ("GET", "/v1/graph/node/{pub_key}", face.graph_node, False),
        ("GET", "/v1/graph/edge/{chan_id}", face.graph_edge, False),
        ("GET", "/v1/graph/routes/{pub_key}/{amt}", face.query_routes, False),
        ("GET", "/v1/channels", face.list_channels, False),
        ("POST", "/v1/channels", face.open_channel, False),
        ("GET", "/v1/channels/pending", face.pending_channels, False),
        ("GET", "/v1/channels/closed", face.closed_channels, False),
        ("GET", "/v1/channels/backup", face.channel_backup, False),
        ("GET", "/v1/channels/backup/subscribe", face.subscribe_channel_backups, True),
        ("POST", "/v1/channels/backup/verify", face.verify_channel_backup, False),
        ("DELETE", "/v1/channels/{funding_txid_str}/{output_index}", face.close_channel, True),
        ("POST", "/v1/chanpolicy", face.update_policy, False),
        ("POST", "/v1/switch", face.forwarding_history, False),
        ("POST", "/v1/invoices", face.add_invoice, False),
        ("GET", "/v1/invoices", face.list_invoices, False),
        ("GET", "/v1/invoice/{r_hash_str}", face.lookup_invoice, False),
        ("GET", "/v1/invoices/subscribe", face.subscribe_invoices, True),
        ("GET", "/v1/payments", face.list_payments, False),
        ("POST", "/v2/invoices/hodl", face.add_hold_invoice, False),
        ("POST", "/v2/invoices/settle", face.settle_invoice, False),
        ("POST", "/v2/invoices/cancel", face.cancel_invoice, False),
        ("POST", "/v2/router/send", face.send_payment, True),
        ("GET", "/v2/router/track/{payment_hash}", face.track_payment, True),
        ("POST", "/v2/router/route", face.build_route, False),
        ("POST", "/v2/router/route/send", face.send_to_route, False),
        ("POST", "/v2/router/updatechanstatus", face.update_chan_status, False),
        ("GET", "/v2/router/htlcevents", face.htlc_events, True),
    ]
