"""Domain objects every node backend speaks, whatever it reads them from.

They are plain frozen dataclasses, independent of LNbits' and LND's JSON: a backend
translates its source into these, and the engine (collector, fees, rebalancing, alerts)
reads only these. Units are in every name (``_msat``, ``_sat``, ``_ppm``); times are
timezone-aware UTC; channels are named by their short channel id ``BLOCKxTXxOUT`` and
carry the LND numeric id and the channel point too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


def scid_from_chan_id(chan_id: int) -> str:
    """LND's numeric channel id to ``BLOCKxTXxOUT``."""
    return f"{chan_id >> 40}x{(chan_id >> 16) & 0xFFFFFF}x{chan_id & 0xFFFF}"


def chan_id_from_scid(scid: str) -> int:
    """``BLOCKxTXxOUT`` to LND's numeric channel id; raises ValueError naming the format."""
    parts = scid.split("x")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"short channel id must look like BLOCKxTXxOUT, got {scid!r}")
    block, tx, out = (int(p) for p in parts)
    if block >= 1 << 24 or tx >= 1 << 24 or out >= 1 << 16:
        raise ValueError(f"short channel id {scid!r} is out of range")
    return block << 40 | tx << 16 | out


class Capability(enum.StrEnum):
    """What a backend can do; the composite routes each operation to one that can."""

    READ_INFO = "read_info"
    READ_CHANNELS = "read_channels"
    READ_PENDING_CHANNELS = "read_pending_channels"
    READ_CLOSED_CHANNELS = "read_closed_channels"
    READ_PEERS = "read_peers"
    READ_POLICIES = "read_policies"  # both directions, incl. inbound fees and HTLC limits
    READ_OWN_FEES = "read_own_fees"  # only our outbound base fee and fee rate per channel
    READ_FORWARDS = "read_forwards"
    READ_FAILED_FORWARDS = "read_failed_forwards"
    READ_PENDING_HTLCS = "read_pending_htlcs"
    READ_GRAPH = "read_graph"  # other nodes' public channels and the fees they charge
    SET_OUTBOUND_FEE = "set_outbound_fee"
    SET_INBOUND_FEE = "set_inbound_fee"
    SET_HTLC_LIMITS = "set_htlc_limits"
    SET_CLTV_DELTA = "set_cltv_delta"
    SET_CHANNEL_ENABLED = "set_channel_enabled"
    OPEN_CHANNEL = "open_channel"
    CLOSE_CHANNEL = "close_channel"
    CONNECT_PEER = "connect_peer"
    QUERY_ROUTES = "query_routes"
    SEND_TO_ROUTE = "send_to_route"
    CIRCULAR_REBALANCE = "circular_rebalance"
    EXPORT_BACKUP = "export_backup"
    READ_ONCHAIN = "read_onchain"
    ESTIMATE_FEE = "estimate_fee"  # on-chain fee rate for a transaction confirming soon


class ChannelState(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    PENDING_OPEN = "pending_open"
    PENDING_CLOSE = "pending_close"
    CLOSED = "closed"


class CloseType(enum.StrEnum):
    COOPERATIVE = "cooperative"
    LOCAL_FORCE = "local_force"
    REMOTE_FORCE = "remote_force"
    BREACH = "breach"
    FUNDING_CANCELED = "funding_canceled"
    ABANDONED = "abandoned"
    UNKNOWN = "unknown"


class Initiator(enum.StrEnum):
    LOCAL = "local"
    REMOTE = "remote"
    BOTH = "both"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ChannelPolicy:
    """One direction's routing policy, set by the node at that end.

    Inbound fees are signed (a negative value is a discount), as in LND; ``None`` means
    the backend does not know the value (the LNbits node API shows only outbound fees).
    """

    base_fee_msat: int
    fee_rate_ppm: int
    inbound_base_fee_msat: int | None = None
    inbound_fee_rate_ppm: int | None = None
    min_htlc_msat: int | None = None
    max_htlc_msat: int | None = None
    cltv_delta: int | None = None
    disabled: bool = False
    last_update: datetime | None = None


@dataclass(frozen=True)
class Channel:
    """A channel of our node, open, pending or closed."""

    scid: str | None  # None while pending open
    chan_id: int | None
    channel_point: str  # "txid:index"
    peer_pubkey: str
    capacity_sat: int
    local_balance_msat: int
    remote_balance_msat: int
    state: ChannelState
    peer_alias: str | None = None
    private: bool = False
    initiator: Initiator = Initiator.UNKNOWN
    local_reserve_sat: int | None = None
    remote_reserve_sat: int | None = None
    unsettled_balance_msat: int = 0
    num_pending_htlcs: int = 0
    total_sent_msat: int | None = None
    total_received_msat: int | None = None
    uptime_s: int | None = None
    lifetime_s: int | None = None
    local_policy: ChannelPolicy | None = None
    remote_policy: ChannelPolicy | None = None
    opened_at_height: int | None = None

    @property
    def local_ratio(self) -> float:
        """Our share of the channel's balance (0..1); display and matching, not money."""
        total_msat = self.local_balance_msat + self.remote_balance_msat
        return self.local_balance_msat / total_msat if total_msat else 0.0


@dataclass(frozen=True)
class ClosedChannel:
    scid: str | None
    chan_id: int | None
    channel_point: str
    peer_pubkey: str
    capacity_sat: int
    settled_balance_sat: int | None  # None: the backend does not say (LNbits)
    close_type: CloseType
    open_initiator: Initiator
    close_initiator: Initiator
    closing_txid: str | None = None
    close_height: int | None = None


@dataclass(frozen=True)
class GraphNode:
    """A node of the public graph as gossip announced it."""

    pubkey: str
    alias: str | None
    last_update: datetime | None
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class GraphEdge:
    """A public channel of the graph; ``node1`` is the smaller pubkey, as BOLT 7 orders them,
    and ``node1_policy`` the one node1 sets (None until it announced one)."""

    chan_id: int
    node1: str
    node2: str
    capacity_sat: int
    node1_policy: ChannelPolicy | None
    node2_policy: ChannelPolicy | None


@dataclass(frozen=True)
class Graph:
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]


@dataclass(frozen=True)
class Peer:
    pubkey: str
    alias: str | None = None
    address: str | None = None
    connected: bool = True
    ping_time_us: int | None = None
    flap_count: int | None = None
    last_flap_at: datetime | None = None


@dataclass(frozen=True)
class Forward:
    """A successful forward through our node, in LND's terms."""

    timestamp: datetime
    timestamp_ns: int
    chan_id_in: int
    chan_id_out: int
    amt_in_msat: int
    amt_out_msat: int
    fee_msat: int
    incoming_htlc_id: int | None = None
    outgoing_htlc_id: int | None = None


@dataclass(frozen=True)
class FailedForward:
    """A forward our node refused or that failed downstream (from HTLC events)."""

    timestamp: datetime
    chan_id_in: int | None
    chan_id_out: int | None
    amt_in_msat: int | None
    amt_out_msat: int | None
    failure: str  # LND's failure detail, e.g. INSUFFICIENT_BALANCE, FEE_INSUFFICIENT
    event_type: str = "FORWARD"
    incoming_htlc_id: int | None = None
    outgoing_htlc_id: int | None = None

    @property
    def for_lack_of_liquidity(self) -> bool:
        return self.failure in {"INSUFFICIENT_BALANCE", "TEMPORARY_CHANNEL_FAILURE"}


@dataclass(frozen=True)
class PendingHtlc:
    chan_id: int
    incoming: bool
    amount_msat: int
    expiration_height: int
    hash_lock: str


@dataclass(frozen=True)
class NodeInfo:
    pubkey: str
    alias: str
    block_height: int
    synced_to_chain: bool | None = None  # None: the backend does not say (LNbits)
    synced_to_graph: bool | None = None
    num_active_channels: int | None = None
    num_peers: int | None = None
    version: str | None = None
    uris: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class FeeEstimate:
    """What the node's wallet would pay for a transaction confirming within ``target_conf``
    blocks: its fee rate, and the fee of the transaction it priced (its own coin choice)."""

    sat_per_vbyte: int
    fee_sat: int
    target_conf: int


@dataclass(frozen=True)
class OnchainBalance:
    total_sat: int
    confirmed_sat: int


@dataclass(frozen=True)
class RouteHop:
    chan_id: int
    pubkey: str
    amt_to_forward_msat: int
    fee_msat: int
    expiry: int


@dataclass(frozen=True)
class Route:
    """A route from our node, as built or found by the node.

    ``payment_addr`` (hex) is the invoice's payment secret carried by the last hop: without
    it the receiving LND refuses the HTLC, so a route built for an invoice must keep it.
    """

    total_amt_msat: int
    total_fees_msat: int
    total_time_lock: int
    hops: tuple[RouteHop, ...]
    payment_addr: str | None = None


@dataclass(frozen=True)
class OwnInvoice:
    """An invoice of our own node, made to be paid by ourselves along a chosen route.

    A circular rebalance sends an HTLC out through one of our channels and back in through
    another: the last hop is us, and our node settles it only against an invoice of its own
    whose ``payment_addr`` (hex) the route's last hop carries.
    """

    payment_hash: str
    payment_addr: str
    payment_request: str
    value_msat: int


@dataclass(frozen=True)
class RouteAttempt:
    """What happened to one HTLC sent along a route.

    ``status`` is LND's: SUCCEEDED, FAILED or IN_FLIGHT. On failure, ``failure`` is the wire
    failure code (e.g. TEMPORARY_CHANNEL_FAILURE) and ``failure_source_index`` the position
    in the route of the node that returned it (0 is us), which is what a rebalancer needs to
    learn which channel lacked liquidity.
    """

    status: str
    preimage: str | None = None
    failure: str | None = None
    failure_source_index: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


@dataclass(frozen=True)
class PolicyUpdate:
    """A change to one channel's policy; ``None`` fields are left as they are."""

    base_fee_msat: int | None = None
    fee_rate_ppm: int | None = None
    inbound_base_fee_msat: int | None = None
    inbound_fee_rate_ppm: int | None = None
    min_htlc_msat: int | None = None
    max_htlc_msat: int | None = None
    cltv_delta: int | None = None

    def needed_capabilities(self) -> set[Capability]:
        needed: set[Capability] = set()
        if self.base_fee_msat is not None or self.fee_rate_ppm is not None:
            needed.add(Capability.SET_OUTBOUND_FEE)
        if self.inbound_base_fee_msat is not None or self.inbound_fee_rate_ppm is not None:
            needed.add(Capability.SET_INBOUND_FEE)
        if self.min_htlc_msat is not None or self.max_htlc_msat is not None:
            needed.add(Capability.SET_HTLC_LIMITS)
        if self.cltv_delta is not None:
            needed.add(Capability.SET_CLTV_DELTA)
        return needed


@dataclass(frozen=True)
class ChannelBackup:
    """A multi-channel static backup (LND's ``MultiChanBackup``) and the channel points it
    covers. The blob is encrypted with the node's seed: only that node can read it, and only
    to ask the peers to force-close (see ``docs/backups.md``)."""

    multi_chan_backup: bytes
    channel_points: tuple[str, ...]
