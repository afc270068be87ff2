"""LND's REST JSON to lnpilot's domain objects and back, as LND's swagger defines it.

LND serves gRPC over REST through grpc-gateway, whose encoding has rules a client must
follow to the letter: 64-bit integers are JSON *strings* and 32-bit ones numbers; ``bytes``
are standard base64; enums travel by name; txids in ``*_bytes`` fields are in internal
(reversed) byte order while ``*_str`` fields and channel points are display hex. A field
that is absent reads as its zero value, as protobuf does: older LND versions lack newer
fields (inbound fees before 0.18) and some proxies leave unpopulated fields out.

Everything here is a pure function (plus one small accumulator for HTLC events), so each
mapping is unit-tested against JSON shaped as the swagger says, without a node.
"""

from __future__ import annotations

import base64
import binascii
from collections import OrderedDict, deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lnpilot.base import bech32
from lnpilot.base.domain import (
    Channel,
    ChannelBackup,
    ChannelPolicy,
    ChannelState,
    ClosedChannel,
    CloseType,
    FailedForward,
    FeeEstimate,
    Forward,
    Graph,
    GraphEdge,
    GraphNode,
    Initiator,
    NodeInfo,
    OwnInvoice,
    Peer,
    PendingHtlc,
    PolicyUpdate,
    Route,
    RouteAttempt,
    RouteHop,
    scid_from_chan_id,
)

Json = Mapping[str, Any]

NS_PER_S = 1_000_000_000

#: The failure recorded for a forward that a node further along the route failed: LND's
#: ForwardFailEvent says only that, and not why.
DOWNSTREAM_FAILURE = "FORWARD_FAIL"

#: LND failure details that say nothing more than the wire failure does.
_UNINFORMATIVE_DETAILS = frozenset({"", "UNKNOWN", "NO_DETAIL"})

_INITIATORS = {
    "INITIATOR_LOCAL": Initiator.LOCAL,
    "INITIATOR_REMOTE": Initiator.REMOTE,
    "INITIATOR_BOTH": Initiator.BOTH,
}

_CLOSE_TYPES = {
    "COOPERATIVE_CLOSE": CloseType.COOPERATIVE,
    "LOCAL_FORCE_CLOSE": CloseType.LOCAL_FORCE,
    "REMOTE_FORCE_CLOSE": CloseType.REMOTE_FORCE,
    "BREACH_CLOSE": CloseType.BREACH,
    "FUNDING_CANCELED": CloseType.FUNDING_CANCELED,
    "ABANDONED": CloseType.ABANDONED,
}


# --- scalars ---------------------------------------------------------------------------


def _int(msg: Json, key: str) -> int:
    """An integer field, given as a string (64-bit) or a number (32-bit); absent is 0."""
    value = msg.get(key)
    return int(value) if value not in (None, "") else 0


def bytes_field(msg: Json, key: str) -> bytes:
    """A ``bytes`` field: base64 (LND writes the standard alphabet; URL-safe is read too)."""
    text = str(msg.get(key) or "").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{key} is not base64: {exc}") from None


def b64(raw: bytes) -> str:
    """Bytes as a request field (standard base64)."""
    return base64.b64encode(raw).decode("ascii")


def time_from_ns(ns: int) -> datetime:
    """Unix nanoseconds to an aware UTC datetime (to the microsecond)."""
    seconds, rest = divmod(ns, NS_PER_S)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000)


def _time_from_s(seconds: int) -> datetime | None:
    """Unix seconds to UTC; LND's 0 means "never" and reads as None."""
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def channel_point_json(channel_point: str) -> dict[str, Any]:
    """``txid:index`` as the ChannelPoint message of a request (string form of the txid)."""
    txid, _, index = channel_point.rpartition(":")
    if not txid or not index.isdigit():
        raise ValueError(f"channel point must look like TXID:INDEX, got {channel_point!r}")
    return {"funding_txid_str": txid, "output_index": int(index)}


def channel_point_text(msg: Json) -> str:
    """A ChannelPoint message as ``txid:index``; LND answers with the byte form, reversed."""
    txid = msg.get("funding_txid_str") or bytes_field(msg, "funding_txid_bytes")[::-1].hex()
    return f"{txid}:{_int(msg, 'output_index')}"


# --- node, channels, peers -------------------------------------------------------------


def parse_backup_snapshot(msg: Json) -> ChannelBackup:
    """A ``ChanBackupSnapshot``'s multi-channel backup and its channel points."""
    multi = msg.get("multi_chan_backup") or {}
    return ChannelBackup(
        multi_chan_backup=bytes_field(multi, "multi_chan_backup"),
        channel_points=tuple(channel_point_text(p) for p in multi.get("chan_points") or ()),
    )


#: The human-readable part of a segwit address, by LND's network name.
ADDRESS_HRP = {"mainnet": "bc", "testnet": "tb", "testnet4": "tb", "signet": "tb"}
ADDRESS_HRP |= {"regtest": "bcrt", "simnet": "sb"}
#: The witness program of the address fees are priced for: any 32 bytes make a P2WSH output
#: of a funding output's size; these spell what they are for, and no script hashes to them.
PRICING_PROGRAM = b"lnpilot: price a funding output."


def parse_network(msg: Json) -> str:
    """The network of a GetInfoResponse (``chains[0].network``), e.g. ``mainnet``."""
    chains = msg.get("chains") or [{}]
    network = str(chains[0].get("network") or "")
    if network not in ADDRESS_HRP:
        raise ValueError(f"LND reports network {network!r}, not one of {sorted(ADDRESS_HRP)}")
    return network


def pricing_address(network: str) -> str:
    """A P2WSH address (segwit v0, bech32) of ``network`` to price a funding output with;
    used only in fee estimates, never paid to."""
    words = [0, *bech32.convert_bits(PRICING_PROGRAM, 8, 5, True)]
    return bech32.encode(ADDRESS_HRP[network], words)


def parse_fee_estimate(msg: Json, target_conf: int) -> FeeEstimate:
    """EstimateFeeResponse (``GET /v1/transactions/fee``); older LNDs give only the
    deprecated ``feerate_sat_per_byte``."""
    rate = _int(msg, "sat_per_vbyte") or _int(msg, "feerate_sat_per_byte")
    return FeeEstimate(sat_per_vbyte=rate, fee_sat=_int(msg, "fee_sat"), target_conf=target_conf)


def parse_info(msg: Json) -> NodeInfo:
    """GetInfoResponse (``GET /v1/getinfo``)."""
    return NodeInfo(
        pubkey=msg["identity_pubkey"],
        alias=msg.get("alias", ""),
        block_height=_int(msg, "block_height"),
        synced_to_chain=bool(msg.get("synced_to_chain", False)),
        synced_to_graph=bool(msg.get("synced_to_graph", False)),
        num_active_channels=_int(msg, "num_active_channels"),
        num_peers=_int(msg, "num_peers"),
        version=msg.get("version") or None,
        uris=tuple(msg.get("uris") or ()),
    )


def parse_channel(msg: Json) -> Channel:
    """An open channel of ListChannels (``GET /v1/channels``); balances come in sat."""
    chan_id = _int(msg, "chan_id")
    local = msg.get("local_constraints") or {}
    remote = msg.get("remote_constraints") or {}
    return Channel(
        scid=scid_from_chan_id(chan_id),
        chan_id=chan_id,
        channel_point=msg["channel_point"],
        peer_pubkey=msg["remote_pubkey"],
        capacity_sat=_int(msg, "capacity"),
        local_balance_msat=_int(msg, "local_balance") * 1000,
        remote_balance_msat=_int(msg, "remote_balance") * 1000,
        state=ChannelState.ACTIVE if msg.get("active") else ChannelState.INACTIVE,
        peer_alias=msg.get("peer_alias") or None,
        private=bool(msg.get("private", False)),
        initiator=Initiator.LOCAL if msg.get("initiator") else Initiator.REMOTE,
        # The constraints are the current home of the reserves; the flat fields are deprecated.
        local_reserve_sat=_int(local, "chan_reserve_sat") or _int(msg, "local_chan_reserve_sat"),
        remote_reserve_sat=_int(remote, "chan_reserve_sat") or _int(msg, "remote_chan_reserve_sat"),
        unsettled_balance_msat=_int(msg, "unsettled_balance") * 1000,
        num_pending_htlcs=len(msg.get("pending_htlcs") or ()),
        total_sent_msat=_int(msg, "total_satoshis_sent") * 1000,
        total_received_msat=_int(msg, "total_satoshis_received") * 1000,
        uptime_s=_int(msg, "uptime"),
        lifetime_s=_int(msg, "lifetime"),
        opened_at_height=chan_id >> 40,
    )


def _pending_channel(msg: Json, state: ChannelState) -> Channel:
    chan = msg.get("channel") or {}
    return Channel(
        scid=None,
        chan_id=None,
        channel_point=chan["channel_point"],
        peer_pubkey=chan["remote_node_pub"],
        capacity_sat=_int(chan, "capacity"),
        local_balance_msat=_int(chan, "local_balance") * 1000,
        remote_balance_msat=_int(chan, "remote_balance") * 1000,
        state=state,
        private=bool(chan.get("private", False)),
        initiator=_INITIATORS.get(chan.get("initiator", ""), Initiator.UNKNOWN),
        local_reserve_sat=_int(chan, "local_chan_reserve_sat"),
        remote_reserve_sat=_int(chan, "remote_chan_reserve_sat"),
    )


def parse_pending_channels(msg: Json) -> list[Channel]:
    """PendingChannelsResponse (``GET /v1/channels/pending``), opening then closing.

    ``pending_closing_channels`` is deprecated and always empty in LND; closing channels are
    in ``waiting_close_channels`` (close tx not confirmed) and ``pending_force_closing_channels``
    (force close confirmed, funds still time-locked).
    """
    opening = [
        _pending_channel(c, ChannelState.PENDING_OPEN)
        for c in msg.get("pending_open_channels") or ()
    ]
    closing = [
        _pending_channel(c, ChannelState.PENDING_CLOSE)
        for key in ("waiting_close_channels", "pending_force_closing_channels")
        for c in msg.get(key) or ()
    ]
    return opening + closing


def parse_closed_channel(msg: Json) -> ClosedChannel:
    """A ChannelCloseSummary (``GET /v1/channels/closed``)."""
    chan_id = _int(msg, "chan_id")
    return ClosedChannel(
        scid=scid_from_chan_id(chan_id) if chan_id else None,
        chan_id=chan_id or None,
        channel_point=msg["channel_point"],
        peer_pubkey=msg["remote_pubkey"],
        capacity_sat=_int(msg, "capacity"),
        settled_balance_sat=_int(msg, "settled_balance"),
        close_type=_CLOSE_TYPES.get(msg.get("close_type", ""), CloseType.UNKNOWN),
        open_initiator=_INITIATORS.get(msg.get("open_initiator", ""), Initiator.UNKNOWN),
        close_initiator=_INITIATORS.get(msg.get("close_initiator", ""), Initiator.UNKNOWN),
        closing_txid=msg.get("closing_tx_hash") or None,
        close_height=_int(msg, "close_height") or None,
    )


def parse_peer(msg: Json) -> Peer:
    """A connected Peer (``GET /v1/peers``); LND gives no alias here (it is in the graph)."""
    last_flap_ns = _int(msg, "last_flap_ns")
    return Peer(
        pubkey=msg["pub_key"],
        address=msg.get("address") or None,
        connected=True,
        ping_time_us=_int(msg, "ping_time"),
        flap_count=_int(msg, "flap_count"),
        last_flap_at=time_from_ns(last_flap_ns) if last_flap_ns else None,
    )


def parse_pending_htlcs(channel: Json) -> list[PendingHtlc]:
    """The HTLCs in flight on one channel of ListChannels.

    LND gives their amount in whole sat only, so ``amount_msat`` is rounded down to the sat.
    """
    chan_id = _int(channel, "chan_id")
    return [
        PendingHtlc(
            chan_id=chan_id,
            incoming=bool(h.get("incoming", False)),
            amount_msat=_int(h, "amount") * 1000,
            expiration_height=_int(h, "expiration_height"),
            hash_lock=bytes_field(h, "hash_lock").hex(),
        )
        for h in channel.get("pending_htlcs") or ()
    ]


# --- policies --------------------------------------------------------------------------


def parse_policy(msg: Json | None) -> ChannelPolicy | None:
    """A RoutingPolicy of a graph edge; None when that side has not announced one yet."""
    if not msg:
        return None
    return ChannelPolicy(
        base_fee_msat=_int(msg, "fee_base_msat"),
        fee_rate_ppm=_int(msg, "fee_rate_milli_msat"),
        inbound_base_fee_msat=_int(msg, "inbound_fee_base_msat"),
        inbound_fee_rate_ppm=_int(msg, "inbound_fee_rate_milli_msat"),
        min_htlc_msat=_int(msg, "min_htlc"),
        max_htlc_msat=_int(msg, "max_htlc_msat"),
        cltv_delta=_int(msg, "time_lock_delta"),
        disabled=bool(msg.get("disabled", False)),
        last_update=_time_from_s(_int(msg, "last_update")),
    )


def parse_graph(msg: Json) -> Graph:
    """A ChannelGraph (``GET /v1/graph``) as domain objects."""
    nodes = tuple(
        GraphNode(
            pubkey=str(n.get("pub_key", "")),
            alias=n.get("alias") or None,
            last_update=_time_from_s(_int(n, "last_update")),
            addresses=tuple(str(a.get("addr", "")) for a in n.get("addresses") or ()),
        )
        for n in msg.get("nodes") or ()
    )
    edges = tuple(
        GraphEdge(
            chan_id=_int(e, "channel_id"),
            node1=str(e.get("node1_pub", "")),
            node2=str(e.get("node2_pub", "")),
            capacity_sat=_int(e, "capacity"),
            node1_policy=parse_policy(e.get("node1_policy")),
            node2_policy=parse_policy(e.get("node2_policy")),
        )
        for e in msg.get("edges") or ()
    )
    return Graph(nodes, edges)


def edge_policies(edge: Json, our_pubkey: str) -> tuple[ChannelPolicy | None, ChannelPolicy | None]:
    """(ours, the peer's) from a ChannelEdge (``GET /v1/graph/edge/{chan_id}``).

    The graph names the ends node1/node2 by pubkey order, not by who we are.
    """
    ours = "node1" if edge.get("node1_pub") == our_pubkey else "node2"
    theirs = "node2" if ours == "node1" else "node1"
    return parse_policy(edge.get(f"{ours}_policy")), parse_policy(edge.get(f"{theirs}_policy"))


def policy_update_json(
    channel_point: str, update: PolicyUpdate, current: ChannelPolicy | None
) -> dict[str, Any]:
    """A PolicyUpdateRequest (``POST /v1/chanpolicy``) that changes only what `update` gives.

    LND always applies the base fee, fee rate and time lock delta of a request (protobuf
    cannot tell 0 from unset), so those are resent from `current` when not updated. The max
    HTLC changes only when non-zero and the min HTLC only with ``min_htlc_msat_specified``,
    so they are sent only when updated. The inbound fee is sent when updated and, when not,
    resent as it is whenever it is not zero: some LND 0.18 releases reset an inbound fee
    that an update left out, and resending it is right on every version.
    """

    def pick(new: int | None, old: int | None, what: str) -> int:
        if new is not None:
            return new
        if old is None:
            raise ValueError(
                f"the current {what} of {channel_point} is unknown (no graph edge yet); "
                "give it in the update"
            )
        return old

    def now(attr: str) -> int | None:
        return None if current is None else getattr(current, attr)

    body: dict[str, Any] = {
        "chan_point": channel_point_json(channel_point),
        "base_fee_msat": str(pick(update.base_fee_msat, now("base_fee_msat"), "base fee")),
        "fee_rate_ppm": pick(update.fee_rate_ppm, now("fee_rate_ppm"), "fee rate"),
        "time_lock_delta": pick(update.cltv_delta, now("cltv_delta"), "CLTV delta"),
    }
    if update.max_htlc_msat is not None:
        body["max_htlc_msat"] = str(update.max_htlc_msat)
    if update.min_htlc_msat is not None:
        body["min_htlc_msat"] = str(update.min_htlc_msat)
        body["min_htlc_msat_specified"] = True
    inbound_given = (
        update.inbound_base_fee_msat is not None or update.inbound_fee_rate_ppm is not None
    )
    if inbound_given or now("inbound_base_fee_msat") or now("inbound_fee_rate_ppm"):
        body["inbound_fee"] = {
            "base_fee_msat": pick(
                update.inbound_base_fee_msat, now("inbound_base_fee_msat"), "inbound base fee"
            ),
            "fee_rate_ppm": pick(
                update.inbound_fee_rate_ppm, now("inbound_fee_rate_ppm"), "inbound fee rate"
            ),
        }
    return body


# --- forwards and HTLC events ----------------------------------------------------------


def parse_forward(msg: Json) -> Forward:
    """A ForwardingEvent (``POST /v1/switch``); ``timestamp_ns`` is preferred when present."""
    timestamp_ns = _int(msg, "timestamp_ns") or _int(msg, "timestamp") * NS_PER_S
    return Forward(
        timestamp=time_from_ns(timestamp_ns),
        timestamp_ns=timestamp_ns,
        chan_id_in=_int(msg, "chan_id_in"),
        chan_id_out=_int(msg, "chan_id_out"),
        amt_in_msat=_int(msg, "amt_in_msat"),
        amt_out_msat=_int(msg, "amt_out_msat"),
        fee_msat=_int(msg, "fee_msat"),
        # Added in LND 0.18; absent on older nodes, where the ids are unknown.
        incoming_htlc_id=_int(msg, "incoming_htlc_id") if "incoming_htlc_id" in msg else None,
        outgoing_htlc_id=_int(msg, "outgoing_htlc_id") if "outgoing_htlc_id" in msg else None,
    )


class FailedForwardBuffer:
    """Failed forwards distilled from LND's HTLC event stream; the newest `capacity` kept.

    LND reports a forward in two steps: a ForwardEvent (with the amounts) when our node
    passes the HTLC on, then a SettleEvent or a ForwardFailEvent (without amounts; a node
    further on failed it) for the same four ids. A LinkFailEvent is a forward our node
    refused itself, with the amounts and the reason. Events of our own payments and
    invoices (SEND, RECEIVE) are not forwards and are ignored.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._in_flight: OrderedDict[tuple[int, int, int, int], tuple[int, int]] = OrderedDict()
        self._failed: deque[FailedForward] = deque(maxlen=capacity)

    def add(self, event: Json) -> None:
        """Take one HtlcEvent (the ``result`` of a stream line)."""
        if event.get("event_type") != "FORWARD":
            return
        key = (
            _int(event, "incoming_channel_id"),
            _int(event, "incoming_htlc_id"),
            _int(event, "outgoing_channel_id"),
            _int(event, "outgoing_htlc_id"),
        )
        when = time_from_ns(_int(event, "timestamp_ns"))
        if "forward_event" in event:
            info = (event["forward_event"] or {}).get("info") or {}
            self._in_flight[key] = (
                _int(info, "incoming_amt_msat"),
                _int(info, "outgoing_amt_msat"),
            )
            if len(self._in_flight) > self._capacity:
                self._in_flight.popitem(last=False)
        elif "settle_event" in event:
            self._in_flight.pop(key, None)
        elif "forward_fail_event" in event:
            amt_in, amt_out = self._in_flight.pop(key, (0, 0))
            self._record(when, key, amt_in, amt_out, DOWNSTREAM_FAILURE)
        elif "link_fail_event" in event:
            fail = event["link_fail_event"] or {}
            info = fail.get("info") or {}
            detail = fail.get("failure_detail", "")
            reason = detail if detail not in _UNINFORMATIVE_DETAILS else fail.get("wire_failure")
            self._record(
                when,
                key,
                _int(info, "incoming_amt_msat"),
                _int(info, "outgoing_amt_msat"),
                reason or "UNKNOWN",
            )

    def _record(
        self,
        when: datetime,
        key: tuple[int, int, int, int],
        amt_in_msat: int,
        amt_out_msat: int,
        failure: str,
    ) -> None:
        chan_in, htlc_in, chan_out, htlc_out = key
        self._failed.append(
            FailedForward(
                timestamp=when,
                chan_id_in=chan_in or None,
                chan_id_out=chan_out or None,
                amt_in_msat=amt_in_msat or None,
                amt_out_msat=amt_out_msat or None,
                failure=failure,
                incoming_htlc_id=htlc_in,
                # A refused HTLC never got an outgoing id; LND writes 0 for it.
                outgoing_htlc_id=htlc_out if failure == DOWNSTREAM_FAILURE else None,
            )
        )

    def since(self, when: datetime) -> list[FailedForward]:
        return [f for f in self._failed if f.timestamp >= when]


# --- routes ----------------------------------------------------------------------------


def parse_route(msg: Json) -> Route:
    """A Route (QueryRoutes, BuildRoute); the last hop's MPP record gives ``payment_addr``."""
    hops = msg.get("hops") or []
    mpp = (hops[-1].get("mpp_record") or {}) if hops else {}
    payment_addr = bytes_field(mpp, "payment_addr").hex() if mpp.get("payment_addr") else None
    return Route(
        total_amt_msat=_int(msg, "total_amt_msat"),
        total_fees_msat=_int(msg, "total_fees_msat"),
        total_time_lock=_int(msg, "total_time_lock"),
        hops=tuple(
            RouteHop(
                chan_id=_int(h, "chan_id"),
                pubkey=h["pub_key"],
                amt_to_forward_msat=_int(h, "amt_to_forward_msat"),
                fee_msat=_int(h, "fee_msat"),
                expiry=_int(h, "expiry"),
            )
            for h in hops
        ),
        payment_addr=payment_addr,
    )


def route_json(route: Route) -> dict[str, Any]:
    """A Route for SendToRouteV2, amounts in msat only (LND refuses sat and msat together)."""
    hops: list[dict[str, Any]] = [
        {
            "chan_id": str(h.chan_id),
            "expiry": h.expiry,
            "amt_to_forward_msat": str(h.amt_to_forward_msat),
            "fee_msat": str(h.fee_msat),
            "pub_key": h.pubkey,
            "tlv_payload": True,
        }
        for h in route.hops
    ]
    if route.payment_addr and hops:
        hops[-1]["mpp_record"] = {
            "payment_addr": b64(bytes.fromhex(route.payment_addr)),
            "total_amt_msat": str(route.hops[-1].amt_to_forward_msat),
        }
    return {
        "total_time_lock": route.total_time_lock,
        "total_fees_msat": str(route.total_fees_msat),
        "total_amt_msat": str(route.total_amt_msat),
        "hops": hops,
    }


def parse_added_invoice(msg: Json, value_msat: int) -> OwnInvoice:
    """An AddInvoiceResponse (``POST /v1/invoices``); LND does not repeat the amount."""
    return OwnInvoice(
        payment_hash=bytes_field(msg, "r_hash").hex(),
        payment_addr=bytes_field(msg, "payment_addr").hex(),
        payment_request=msg.get("payment_request", ""),
        value_msat=value_msat,
    )


def parse_attempt(msg: Json) -> RouteAttempt:
    """An HTLCAttempt (``POST /v2/router/route/send``)."""
    status = msg.get("status", "IN_FLIGHT")
    failure = msg.get("failure") or {}
    preimage = bytes_field(msg, "preimage") if status == "SUCCEEDED" else b""
    return RouteAttempt(
        status=status,
        preimage=preimage.hex() if preimage else None,
        failure=failure.get("code") if failure else None,
        failure_source_index=_int(failure, "failure_source_index") if failure else None,
    )
