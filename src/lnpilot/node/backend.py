"""What a node backend is, what each one can do, and what it says when it cannot.

The engine talks to the node only through :class:`NodeBackend`. Backends differ a lot in
reach: the LNbits node API shows channels and peers and sets outbound fees, while a direct
LND REST connection also gives forwarding history, failed HTLCs, the full policy and route
building. So every backend declares its :class:`~lnpilot.base.domain.Capability` set, the
composite routes each operation to a backend that has the capability, and an operation no
configured backend can do fails with :class:`CapabilityMissing`, which says which
configuration would add it, instead of with a 501 from deep inside an HTTP call.

The capability tables of the backends live here, together, so "which backend gives what"
is read in one place (``docs/node-backends.md`` shows it as a table).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Collection, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from lnpilot.base.domain import (
    Capability,
    Channel,
    ChannelBackup,
    ChannelPolicy,
    ClosedChannel,
    FailedForward,
    FeeEstimate,
    Forward,
    Graph,
    NodeInfo,
    OnchainBalance,
    OwnInvoice,
    Peer,
    PendingHtlc,
    PolicyUpdate,
    Route,
    RouteAttempt,
)

_C = Capability

LND_REST_CAPABILITIES: frozenset[Capability] = frozenset(Capability)
"""Everything, circular rebalancing included: LND builds routes, sends along them and makes
the invoice of our own a circular route pays."""

LNBITS_CAPABILITIES: frozenset[Capability] = frozenset(
    {
        _C.READ_INFO,
        _C.READ_CHANNELS,
        _C.READ_PENDING_CHANNELS,
        _C.READ_CLOSED_CHANNELS,
        _C.READ_PEERS,
        _C.READ_OWN_FEES,
        _C.SET_OUTBOUND_FEE,
        _C.OPEN_CHANNEL,
        _C.CLOSE_CHANNEL,
        _C.CONNECT_PEER,
        _C.READ_ONCHAIN,
    }
)
"""Exactly what LNbits' node API (``/node/api/v1``) offers; on-chain balance comes with its info."""

LND_REST_HINT = "a direct LND REST connection: set [lnd] rest_url and macaroon (or macaroon_file)"
LNBITS_HINT = (
    "the LNbits node API: set [lnbits] url with the superuser's username and password "
    "(or access_token), on an LNbits with LNBITS_NODE_UI=true and an LND REST, CLN or "
    "Phoenixd funding source"
)

#: Where each capability can come from, most capable backend first.
_SOURCES: tuple[tuple[frozenset[Capability], str], ...] = (
    (LND_REST_CAPABILITIES, LND_REST_HINT),
    (LNBITS_CAPABILITIES, LNBITS_HINT),
)

DESCRIPTIONS: Mapping[Capability, str] = {
    _C.READ_INFO: "node info",
    _C.READ_CHANNELS: "the channel list",
    _C.READ_PENDING_CHANNELS: "pending channels",
    _C.READ_CLOSED_CHANNELS: "closed channels",
    _C.READ_PEERS: "the peer list",
    _C.READ_POLICIES: "full channel policies (both directions, inbound fees, HTLC limits)",
    _C.READ_OWN_FEES: "our outbound fees",
    _C.READ_FORWARDS: "forwarding history",
    _C.READ_FAILED_FORWARDS: "failed forwards (HTLC events)",
    _C.READ_PENDING_HTLCS: "pending HTLCs",
    _C.READ_GRAPH: "the public graph (other nodes' channels and their fees)",
    _C.SET_OUTBOUND_FEE: "setting outbound fees",
    _C.SET_INBOUND_FEE: "inbound fees",
    _C.SET_HTLC_LIMITS: "HTLC limits (min/max HTLC)",
    _C.SET_CLTV_DELTA: "the CLTV delta (time lock)",
    _C.SET_CHANNEL_ENABLED: "disabling and enabling channels",
    _C.OPEN_CHANNEL: "opening channels",
    _C.CLOSE_CHANNEL: "closing channels",
    _C.CONNECT_PEER: "connecting and disconnecting peers",
    _C.QUERY_ROUTES: "route queries and route building",
    _C.SEND_TO_ROUTE: "sending along a given route",
    _C.CIRCULAR_REBALANCE: "circular rebalancing",
    _C.EXPORT_BACKUP: "channel backups",
    _C.READ_ONCHAIN: "the on-chain balance",
    _C.ESTIMATE_FEE: "on-chain fee estimates",
}

OPERATION_NEEDS: Mapping[str, Capability] = {
    "get_info": _C.READ_INFO,
    "list_channels": _C.READ_CHANNELS,
    "list_pending_channels": _C.READ_PENDING_CHANNELS,
    "list_closed_channels": _C.READ_CLOSED_CHANNELS,
    "list_peers": _C.READ_PEERS,
    "get_policies": _C.READ_POLICIES,
    "forwarding_history": _C.READ_FORWARDS,
    "failed_forwards": _C.READ_FAILED_FORWARDS,
    "pending_htlcs": _C.READ_PENDING_HTLCS,
    "policies_toward": _C.READ_GRAPH,
    "describe_graph": _C.READ_GRAPH,
    "set_channel_enabled": _C.SET_CHANNEL_ENABLED,
    "open_channel": _C.OPEN_CHANNEL,
    "close_channel": _C.CLOSE_CHANNEL,
    "connect_peer": _C.CONNECT_PEER,
    "disconnect_peer": _C.CONNECT_PEER,
    "query_routes": _C.QUERY_ROUTES,
    "build_route": _C.QUERY_ROUTES,
    "send_to_route": _C.SEND_TO_ROUTE,
    "create_own_invoice": _C.CIRCULAR_REBALANCE,
    "export_backup": _C.EXPORT_BACKUP,
    "verify_backup": _C.EXPORT_BACKUP,
    "channel_backups": _C.EXPORT_BACKUP,
    "onchain_balance": _C.READ_ONCHAIN,
    "estimate_fee": _C.ESTIMATE_FEE,
}
"""The capability each operation needs; ``update_policy`` needs what its update touches."""


class NodeError(Exception):
    """A backend could not do what was asked: refused, unreachable, or not able to at all."""

    def __init__(self, message: str, *, backend: str) -> None:
        super().__init__(message)
        self.backend = backend


def how_to_get(capability: Capability) -> str:
    """The configuration that would add `capability`, in words an operator can act on."""
    hints = [hint for caps, hint in _SOURCES if capability in caps]
    return " or ".join(hints) if hints else "a backend lnpilot does not support yet"


class CapabilityMissing(NodeError):
    """No configured backend can do an operation; the message says what would add it."""

    def __init__(
        self, capabilities: Collection[Capability], *, operation: str, configured: Sequence[str]
    ) -> None:
        self.capabilities = frozenset(capabilities)
        self.operation = operation
        ordered = sorted(self.capabilities)
        what = ", ".join(f"{DESCRIPTIONS[c]} ({c.value})" for c in ordered)
        hints = "; ".join(dict.fromkeys(how_to_get(c) for c in ordered))
        names = ", ".join(configured) or "none"
        super().__init__(
            f"{operation} needs {what}, which no configured backend ({names}) offers; "
            f"it needs {hints}",
            backend=names,
        )


def refuse(backend: NodeBackend, operation: str) -> CapabilityMissing:
    """The error for an operation `backend` cannot do (see `OPERATION_NEEDS`)."""
    return CapabilityMissing(
        [OPERATION_NEEDS[operation]], operation=operation, configured=[backend.name]
    )


def check_policy_update(backend: NodeBackend, update: PolicyUpdate) -> None:
    """Refuse an update that changes nothing or touches what `backend` cannot set.

    An empty update would still send a policy (and a gossip update) on LND, since LND's
    UpdateChannelPolicy always writes the fee fields.
    """
    needed = update.needed_capabilities()
    if not needed:
        raise ValueError("the policy update changes nothing")
    missing = needed - backend.capabilities
    if missing:
        raise CapabilityMissing(missing, operation="update_policy", configured=[backend.name])


class NodeBackend(Protocol):
    """One way to reach the node. Every operation is async and speaks domain objects.

    The default bodies refuse with :class:`CapabilityMissing`: a backend subclasses this
    protocol, declares its ``capabilities`` and overrides what it can do, and so is always a
    complete ``NodeBackend``. Channels are passed as :class:`Channel` objects (from
    ``list_channels``) because backends name them differently: LND by channel point, LNbits
    by the numeric channel id.
    """

    name: str
    capabilities: frozenset[Capability]

    async def start(self) -> None:
        """Begin background work (event streams); idempotent. Reads work without it."""
        return None

    async def aclose(self) -> None:
        """Stop background work and release connections this backend owns."""
        return None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def get_info(self) -> NodeInfo:
        raise refuse(self, "get_info")

    async def list_channels(self) -> list[Channel]:
        """Open channels, active and inactive."""
        raise refuse(self, "list_channels")

    async def list_pending_channels(self) -> list[Channel]:
        """Channels opening or closing (state PENDING_OPEN or PENDING_CLOSE; no scid yet)."""
        raise refuse(self, "list_pending_channels")

    async def list_closed_channels(self) -> list[ClosedChannel]:
        raise refuse(self, "list_closed_channels")

    async def list_peers(self) -> list[Peer]:
        """Connected peers."""
        raise refuse(self, "list_peers")

    async def get_policies(self, channels: Sequence[Channel]) -> list[Channel]:
        """`channels` with ``local_policy`` and ``remote_policy`` filled in.

        A policy stays None when the backend cannot see it (an edge not yet in the graph, or
        the remote side through LNbits); fields of a policy that are None are unknown.
        """
        raise refuse(self, "get_policies")

    async def forwarding_history(
        self,
        *,
        index_offset: int = 0,
        max_events: int = 1000,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> tuple[list[Forward], int]:
        """Forwards in [start_time, end_time] after skipping `index_offset` of them.

        Returns the forwards and the offset to ask for next. As in LND, the offset counts
        from `start_time`: to resume by index, keep the same `start_time` (None, the
        beginning, is what a collector wants).
        """
        raise refuse(self, "forwarding_history")

    async def failed_forwards(self, since: datetime) -> list[FailedForward]:
        """Forwards that failed at or after `since`, from what the backend has observed."""
        raise refuse(self, "failed_forwards")

    async def pending_htlcs(self) -> list[PendingHtlc]:
        raise refuse(self, "pending_htlcs")

    async def describe_graph(self) -> Graph:
        """The whole public graph (LND ``GET /v1/graph``): nodes and public channels."""
        raise refuse(self, "describe_graph")

    async def policies_toward(self, pubkey: str) -> dict[int, ChannelPolicy]:
        """By channel id, the policy each public channel of node `pubkey` charges toward it.

        That is the direction set by the node at the other end: what a sender pays to
        reach `pubkey` through that channel, so the prices a channel of ours into the same
        peer competes with. Our own channels to `pubkey` are included (their direction
        toward it is our policy); a direction not announced yet is absent. An unknown
        `pubkey` gives an empty answer.
        """
        raise refuse(self, "policies_toward")

    async def update_policy(self, channel: Channel, update: PolicyUpdate) -> None:
        """Apply `update` to our side of `channel`; fields left None keep their value."""
        check_policy_update(self, update)
        raise NotImplementedError(f"{self.name} declares policy capabilities but no update_policy")

    async def set_channel_enabled(self, channel: Channel, enabled: bool) -> None:
        raise refuse(self, "set_channel_enabled")

    async def estimate_fee(self, amount_sat: int, *, target_conf: int = 6) -> FeeEstimate:
        """The wallet's fee for a transaction paying ``amount_sat`` to a channel's funding
        output (a P2WSH one), confirming within ``target_conf`` blocks: LND's
        ``GET /v1/transactions/fee``. What an open and a close cost on chain is priced from
        its fee rate; nothing is sent."""
        raise refuse(self, "estimate_fee")

    async def open_channel(
        self,
        peer_pubkey: str,
        local_amount_sat: int,
        *,
        push_amount_sat: int = 0,
        sat_per_vbyte: int | None = None,
        remote_reserve_sat: int | None = None,
    ) -> str:
        """Open a public channel to a connected peer; returns its channel point.

        ``remote_reserve_sat`` is the reserve we ask the peer to keep on its side (LND's
        ``remote_chan_reserve_sat``), where the backend can set it
        (``open_reserve_settable()``); elsewhere it must be None, and the node chooses."""
        raise refuse(self, "open_channel")

    def open_reserve_settable(self) -> bool:
        """Whether :meth:`open_channel` can be given the reserve asked of the peer."""
        return False

    def close_fee_rate_settable(self) -> bool:
        """Whether :meth:`close_channel` can be given the closing transaction's fee rate."""
        return False

    async def close_channel(
        self, channel: Channel, *, force: bool = False, sat_per_vbyte: int | None = None
    ) -> str | None:
        """Start closing `channel`; returns the closing txid when the backend reports it.

        ``sat_per_vbyte`` is the cooperative close's fee rate, where the backend can set it
        (``close_fee_rate_settable()``); elsewhere it must be None, and the node chooses."""
        raise refuse(self, "close_channel")

    async def connect_peer(self, pubkey: str, host: str) -> None:
        """Connect to `pubkey` at `host` (``host:port``)."""
        raise refuse(self, "connect_peer")

    async def disconnect_peer(self, pubkey: str) -> None:
        raise refuse(self, "disconnect_peer")

    async def query_routes(
        self,
        dest_pubkey: str,
        amt_msat: int,
        *,
        outgoing_chan_ids: Sequence[int] = (),
        last_hop_pubkey: str | None = None,
        fee_limit_msat: int | None = None,
    ) -> list[Route]:
        raise refuse(self, "query_routes")

    async def build_route(
        self,
        amt_msat: int,
        hop_pubkeys: Sequence[str],
        *,
        outgoing_chan_id: int | None = None,
        payment_addr: str | None = None,
        final_cltv_delta: int | None = None,
    ) -> Route:
        """A route through exactly `hop_pubkeys` (the last one receives `amt_msat`)."""
        raise refuse(self, "build_route")

    async def send_to_route(self, payment_hash: str, route: Route) -> RouteAttempt:
        """Send one HTLC for `payment_hash` (hex) along `route` and wait for its outcome."""
        raise refuse(self, "send_to_route")

    async def create_own_invoice(
        self, value_msat: int, *, memo: str = "", expiry_s: int = 3600
    ) -> OwnInvoice:
        """An invoice of our node for a circular rebalance to pay (see :class:`OwnInvoice`).

        It needs the capability of the whole circular rebalance, not of receiving: an
        invoice is useful here only on the node that also builds and sends the route.
        """
        raise refuse(self, "create_own_invoice")

    async def export_backup(self) -> ChannelBackup:
        """The static channel backup of all channels, as ``lncli exportchanbackup --all``."""
        raise refuse(self, "export_backup")

    async def verify_backup(self, multi_chan_backup: bytes) -> tuple[str, ...]:
        """The channel points a multi-channel backup covers, once the node has read it back
        (``lncli verifychanbackup``); raises NodeError when it cannot (corrupt, foreign)."""
        raise refuse(self, "verify_backup")

    def channel_backups(self) -> AsyncGenerator[ChannelBackup, None]:
        """The current backup once subscribed, then a new one after each channel open and
        close, for as long as the caller reads (the iterator ends when the stream breaks)."""
        raise refuse(self, "channel_backups")

    async def onchain_balance(self) -> OnchainBalance:
        raise refuse(self, "onchain_balance")
