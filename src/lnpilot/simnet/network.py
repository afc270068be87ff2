"""The simulated network: its nodes and channels, the chain under them, and virtual time.

`SimNetwork` owns every piece of shared state (graph, balances, invoices, block height,
on-chain fee rate, virtual time, event log) and the rules that change it: channel opening,
confirmation and closing, policy updates, peers going on- and offline. The execution of a
route hop by hop with the checks a real node makes is its HTLC engine, a part it inherits
from `lnpilot.simnet.htlc_engine` (the types of that module are importable from here too).
It does not decide anything: senders, demand and dynamics live in their own modules and
call in here.

One node may be "watched" (ours): HTLCs that touch it produce LND-shaped forwards and HTLC
events handed to its observer.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lnpilot.simnet.events import EventLog
from lnpilot.simnet.htlc_engine import AttemptStatus, HeldHtlcs, HtlcEngine, WatchObserver
from lnpilot.simnet.invoices import InvoiceBook
from lnpilot.simnet.model import Channel, ChannelState, CloseType, Node, Policy, parse_scid
from lnpilot.simnet.routing import InEdge

__all__ = [
    "BLOCK_INTERVAL_S",
    "CLOSING_TX_VBYTES",
    "DEFAULT_START",
    "DUST_LIMIT_SAT",
    "FORCE_CLOSE_CSV_BLOCKS",
    "FUNDING_TX_VBYTES",
    "AttemptStatus",
    "ChainState",
    "HeldHtlcs",
    "NetworkConfig",
    "SimNetwork",
    "WatchObserver",
]

#: Blocks a force-closing party waits for its own output (LND's default CSV delay).
FORCE_CLOSE_CSV_BLOCKS = 144
#: Virtual-time seconds between blocks on average.
BLOCK_INTERVAL_S = 600
#: Virtual bytes of a funding and of a closing transaction, for on-chain fees.
FUNDING_TX_VBYTES = 154
#: BOLT 2 dust limit LND uses for anchor channels, and the smallest reserve it asks.
DUST_LIMIT_SAT = 354
CLOSING_TX_VBYTES = 180

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class ChainState:
    """The chain the channels are anchored in: height and the fee rate for new transactions."""

    block_height: int = 800_000
    fee_rate_sat_per_vbyte: int = 10
    mined_txs: int = 0


@dataclass(slots=True)
class NetworkConfig:
    """Constants of a network that scenarios may change."""

    network_name: str = "regtest"
    start: datetime = DEFAULT_START
    open_confirmations: int = 3
    reserve_fraction_ppm: int = 10_000
    default_policy: Policy = field(default_factory=lambda: Policy(1000, 1, 0, 0, 1000, 0, 80))

    @property
    def start_unix_ns(self) -> int:
        """Unix time in ns of virtual time zero (`start`, to the whole second).

        Virtual time stays relative to `start`; what leaves the simulation in Unix time
        (BOLT 11 timestamps, the LND face's dates) adds this.
        """
        return int(self.start.timestamp()) * 1_000_000_000


class SimNetwork(HtlcEngine):
    """All shared state of one simulated Lightning network and the rules that change it."""

    def __init__(self, seed: int = 0, config: NetworkConfig | None = None) -> None:
        self.config = config or NetworkConfig()
        self.seed = seed
        self.rng = random.Random(f"simnet-network-{seed}")
        self.nodes: dict[str, Node] = {}
        self.channels: dict[int, Channel] = {}
        self.by_point: dict[str, Channel] = {}
        #: edges into each node over open channels, for backward path finding.
        self.in_edges: dict[str, list[InEdge]] = {}
        #: online flag by pubkey, mirrored from `Node.online` for the hot path.
        self.online: dict[str, bool] = {}
        #: bumped whenever a node goes on- or offline (array mirrors follow it).
        self.online_version = 0
        #: channel ids in the order they opened or closed (array mirrors follow it).
        self.topology_changes: list[int] = []
        #: channel ids in the order their policies changed (array mirrors patch from it).
        self.policy_changes: list[int] = []
        #: called when one of the watched node's channels or policies changes.
        self.watch_listeners: list[Callable[[Channel], None]] = []
        #: bumped whenever a channel joins or leaves a node's `channel_ids` (`neighbours`).
        self.channel_ids_version = 0
        #: whether any policy ever had a negative outbound fee (the protocol's are unsigned;
        #: the payment loop's detours take a shortcut that needs them >= 0).
        self.negative_fee_seen = False
        self._neighbours: dict[str, tuple[int, list[tuple[int, Channel, int, str]]]] = {}
        self.chain = ChainState()
        self.now_ns = 0
        self.log = EventLog()
        self.invoices = InvoiceBook(self.config.network_name, self.config.start_unix_ns)
        self.held: dict[str, list[HeldHtlcs]] = {}
        #: channels waiting for a confirmation (pending open or closing).
        self._confirming: set[int] = set()
        self.watched: str | None = None
        self.observer: WatchObserver = WatchObserver()
        self.block_listeners: list[Callable[[int], None]] = []

    # --- time and chain ---------------------------------------------------------------

    def now(self) -> datetime:
        """The virtual wall clock (timezone-aware UTC)."""
        return self.config.start + timedelta(microseconds=self.now_ns // 1000)

    def mine_block(self) -> None:
        """Advance the chain by one block and move channels whose confirmations are due."""
        self.chain.block_height += 1
        height = self.chain.block_height
        self.log.record(self.now_ns, "block", height=height)
        for chan_id in sorted(self._confirming):
            chan = self.channels[chan_id]
            if chan.state is ChannelState.PENDING_OPEN:
                if height >= chan.open_height + chan.confirmations_needed:
                    self._activate(chan)
            elif chan.state is ChannelState.CLOSING and height >= chan.close_height + 1:
                self._finish_close(chan)
        for listener in list(self.block_listeners):
            listener(height)

    def set_fee_rate(self, fee_rate_sat_per_vbyte: int) -> None:
        self.chain.fee_rate_sat_per_vbyte = max(1, fee_rate_sat_per_vbyte)
        self.log.record(self.now_ns, "feerate", sat_per_vbyte=self.chain.fee_rate_sat_per_vbyte)

    def _txid(self, purpose: str) -> str:
        self.chain.mined_txs += 1
        material = f"{self.seed}:{purpose}:{self.chain.mined_txs}".encode()
        return hashlib.sha256(material).hexdigest()

    # --- nodes ------------------------------------------------------------------------

    def add_node(self, node: Node) -> Node:
        if node.pubkey in self.nodes:
            raise ValueError(f"node {node.pubkey} already exists")
        if len(node.pubkey) != 66:
            raise ValueError(f"pubkey {node.pubkey!r} is not 33 bytes of hex")
        self.nodes[node.pubkey] = node
        self.online[node.pubkey] = node.online
        self.in_edges.setdefault(node.pubkey, [])
        return node

    def set_online(self, pubkey: str, online: bool) -> None:
        """Take a node off or back on the network (its peers see it at once)."""
        node = self.nodes[pubkey]
        if node.online == online:
            return
        node.online = online
        self.online[pubkey] = online
        self.online_version += 1
        self.log.record(self.now_ns, "online" if online else "offline", node=pubkey[:16])
        if self.watched is not None:
            for chan_id in node.channel_ids:
                chan = self.channels[chan_id]
                if self.watched in (chan.node1, chan.node2):
                    self.observer.on_channel_change(chan)

    def neighbours(self, pubkey: str) -> list[tuple[int, Channel, int, str]]:
        """(chan_id, channel, the node's side of it, peer) for each of the node's channels, in
        `channel_ids` order, whatever their state.

        The payment loop walks a hub's channels for every detour (hubs have hundreds); the
        list is kept until a channel is added to or removed from any node's list.
        """
        entry = self._neighbours.get(pubkey)
        if entry is not None and entry[0] == self.channel_ids_version:
            return entry[1]
        channels = self.channels
        result = []
        for chan_id in self.nodes[pubkey].channel_ids:
            chan = channels[chan_id]
            d = chan.side_of(pubkey)
            result.append((chan_id, chan, d, chan.node2 if d == 0 else chan.node1))
        self._neighbours[pubkey] = (self.channel_ids_version, result)
        return result

    def is_active(self, chan: Channel) -> bool:
        """Open and both ends online: what LND calls an active channel."""
        return (
            chan.state is ChannelState.OPEN and self.online[chan.node1] and self.online[chan.node2]
        )

    # --- channels ---------------------------------------------------------------------

    def add_channel(
        self,
        node_a: str,
        node_b: str,
        capacity_sat: int,
        balance_a_msat: int,
        policy_a: Policy,
        policy_b: Policy,
        *,
        scid: str | None = None,
        opener: str | None = None,
        private: bool = False,
    ) -> Channel:
        """Add an already open channel (topologies and scenarios start from these)."""
        chan = self._new_channel(
            node_a, node_b, capacity_sat, balance_a_msat, policy_a, policy_b, scid, opener, private
        )
        chan.state = ChannelState.OPEN
        chan.open_height = parse_scid(chan.scid)[0]
        self._link(chan)
        return chan

    def open_channel(
        self,
        opener: str,
        peer: str,
        capacity_sat: int,
        push_msat: int = 0,
        *,
        private: bool = False,
        policy: Policy | None = None,
        peer_policy: Policy | None = None,
        acceptor_reserve_sat: int | None = None,
    ) -> Channel:
        """Fund a new channel: pending until `open_confirmations` blocks, then open.

        The opener pays capacity plus the funding transaction fee from its on-chain balance.
        ``acceptor_reserve_sat`` is the reserve asked of the peer, checked as LND checks
        ``remote_chan_reserve_sat``: at least the dust limit, at most a fifth of the capacity.
        """
        node = self.nodes[opener]
        if peer not in self.nodes:
            raise ValueError(f"unknown peer {peer}")
        if peer == opener:
            raise ValueError("cannot open a channel to oneself")
        if not self.online[peer]:
            raise ValueError(f"peer {peer} is offline")
        if not 0 <= push_msat <= capacity_sat * 1000:
            raise ValueError("push_msat must be between 0 and the capacity")
        if acceptor_reserve_sat is not None and not (
            DUST_LIMIT_SAT <= acceptor_reserve_sat <= capacity_sat // 5
        ):
            raise ValueError(
                f"remote channel reserve {acceptor_reserve_sat} sat is outside "
                f"[{DUST_LIMIT_SAT}, {capacity_sat // 5}]: above the dust limit, below 20% of "
                "the capacity"
            )
        fee_sat = FUNDING_TX_VBYTES * self.chain.fee_rate_sat_per_vbyte
        if node.onchain_balance_sat < capacity_sat + fee_sat:
            raise ValueError(
                f"insufficient on-chain funds: need {capacity_sat + fee_sat} sat, "
                f"have {node.onchain_balance_sat} sat"
            )
        node.onchain_balance_sat -= capacity_sat + fee_sat
        block = self.chain.block_height + 1
        scid = f"{block}x{self.rng.randrange(1, 3000)}x{self.rng.randrange(0, 2)}"
        while self._scid_taken(scid):
            scid = f"{block}x{self.rng.randrange(1, 3000)}x{self.rng.randrange(0, 2)}"
        default = self.config.default_policy
        chan = self._new_channel(
            opener,
            peer,
            capacity_sat,
            capacity_sat * 1000 - push_msat,
            (policy or default).copy(),
            (peer_policy or default).copy(),
            scid,
            opener,
            private,
        )
        chan.acceptor_reserve_sat = acceptor_reserve_sat
        chan.state = ChannelState.PENDING_OPEN
        self._confirming.add(chan.chan_id)
        chan.open_height = self.chain.block_height
        chan.confirmations_needed = self.config.open_confirmations
        self.log.record(
            self.now_ns, "chan_pending", scid=chan.scid, opener=opener[:16], cap_sat=capacity_sat
        )
        self._notify_watch(chan)
        return chan

    def close_channel(self, chan_id: int, initiator: str, force: bool = False) -> Channel:
        """Start closing: unusable at once, closed when the closing transaction confirms."""
        chan = self.channels[chan_id]
        if chan.state not in (ChannelState.OPEN, ChannelState.PENDING_OPEN):
            raise ValueError(f"channel {chan.scid} is already {chan.state.value}")
        if not force and not (self.online[chan.node1] and self.online[chan.node2]):
            raise ValueError(f"cooperative close of {chan.scid} needs the peer online")
        if any(chan.in_flight_count) and not force:
            raise ValueError(f"channel {chan.scid} has HTLCs in flight")
        was_open = chan.state is ChannelState.OPEN
        chan.state = ChannelState.CLOSING
        self._confirming.add(chan.chan_id)
        chan.close_height = self.chain.block_height
        chan.close_initiator = initiator
        if force:
            chan.close_type = (
                CloseType.LOCAL_FORCE_CLOSE
                if initiator == self.watched or self.watched not in (chan.node1, chan.node2)
                else CloseType.REMOTE_FORCE_CLOSE
            )
            chan.maturity_height = self.chain.block_height + 1 + FORCE_CLOSE_CSV_BLOCKS
        else:
            chan.close_type = CloseType.COOPERATIVE_CLOSE
        chan.closing_txid = self._txid(f"close-{chan.scid}")
        if was_open:
            self._unlink(chan)
        self.log.record(
            self.now_ns,
            "chan_closing",
            scid=chan.scid,
            by=initiator[:16],
            type=chan.close_type.value,
        )
        self._notify_watch(chan)
        return chan

    def update_policy(self, chan_id: int, pubkey: str, **changes: int | bool) -> Policy:
        """Change fields of the policy `pubkey` sets on a channel; others keep their value."""
        chan = self.channels[chan_id]
        policy = chan.policies[chan.side_of(pubkey)]
        for name, value in changes.items():
            if name not in Policy.__slots__ or name == "last_update_ns":
                raise ValueError(f"unknown policy field {name!r}")
            setattr(policy, name, value)
        policy.last_update_ns = self.now_ns
        if policy.base_fee_msat < 0 or policy.fee_rate_ppm < 0:
            self.negative_fee_seen = True
        self.policy_changes.append(chan_id)
        self._touch(chan)
        rendered = {k: int(v) for k, v in sorted(changes.items())}
        self.log.record(self.now_ns, "policy", scid=chan.scid, by=pubkey[:16], **rendered)
        return policy

    def _scid_taken(self, scid: str) -> bool:
        block, tx, out = parse_scid(scid)
        return ((block << 40) | (tx << 16) | out) in self.channels

    def _new_channel(
        self,
        node_a: str,
        node_b: str,
        capacity_sat: int,
        balance_a_msat: int,
        policy_a: Policy,
        policy_b: Policy,
        scid: str | None,
        opener: str | None,
        private: bool,
    ) -> Channel:
        for pubkey in (node_a, node_b):
            if pubkey not in self.nodes:
                raise ValueError(f"unknown node {pubkey}")
        if capacity_sat <= 0:
            raise ValueError("capacity_sat must be positive")
        if not 0 <= balance_a_msat <= capacity_sat * 1000:
            raise ValueError(
                f"balance {balance_a_msat} msat is outside the capacity {capacity_sat} sat"
            )
        if scid is None:
            scid = self._free_scid()
        block, tx, out = parse_scid(scid)
        chan_id = (block << 40) | (tx << 16) | out
        if chan_id in self.channels:
            raise ValueError(f"short channel id {scid} is already used")
        first_is_a = node_a < node_b
        node1, node2 = (node_a, node_b) if first_is_a else (node_b, node_a)
        balance_b_msat = capacity_sat * 1000 - balance_a_msat
        balances = (
            [balance_a_msat, balance_b_msat] if first_is_a else [balance_b_msat, balance_a_msat]
        )
        policies = [policy_a, policy_b] if first_is_a else [policy_b, policy_a]
        for policy in policies:
            if policy.max_htlc_msat <= 0:
                policy.max_htlc_msat = capacity_sat * 990
            if policy.base_fee_msat < 0 or policy.fee_rate_ppm < 0:
                self.negative_fee_seen = True
        reserve_sat = capacity_sat * self.config.reserve_fraction_ppm // 1_000_000
        chan = Channel(
            chan_id=chan_id,
            scid=scid,
            node1=node1,
            node2=node2,
            capacity_sat=capacity_sat,
            balance_msat=balances,
            policies=policies,
            funding_txid=self._txid(f"fund-{scid}"),
            output_index=out,
            opener=opener or node_a,
            reserve_sat=reserve_sat,
            private=private,
        )
        self.channels[chan_id] = chan
        self.by_point[chan.channel_point] = chan
        self.nodes[node1].channel_ids.append(chan_id)
        self.nodes[node2].channel_ids.append(chan_id)
        self.channel_ids_version += 1
        return chan

    def _free_scid(self) -> str:
        block = self.chain.block_height - self.rng.randrange(1, 100_000)
        scid = f"{block}x{self.rng.randrange(1, 3000)}x{self.rng.randrange(0, 4)}"
        while self._scid_taken(scid):
            scid = f"{block}x{self.rng.randrange(1, 3000)}x{self.rng.randrange(0, 4)}"
        return scid

    def _link(self, chan: Channel) -> None:
        p1, p2 = chan.policies
        cap = chan.capacity_sat * 1000
        self.in_edges[chan.node2].append((chan.node1, chan, 0, p1, p2, cap))
        self.in_edges[chan.node1].append((chan.node2, chan, 1, p2, p1, cap))
        self.topology_changes.append(chan.chan_id)
        self._touch(chan)

    def _unlink(self, chan: Channel) -> None:
        for node in (chan.node1, chan.node2):
            self.in_edges[node] = [e for e in self.in_edges[node] if e[1] is not chan]
        self.topology_changes.append(chan.chan_id)
        self._touch(chan)

    def _touch(self, chan: Channel) -> None:
        """Tell listeners (route caches) at once when our node's channels change.

        Other nodes' changes reach senders through the caches' time-to-live instead:
        recomputing on every change anywhere would cost more than the whole simulation.
        """
        if self.watched in (chan.node1, chan.node2):
            for listener in list(self.watch_listeners):
                listener(chan)

    def _activate(self, chan: Channel) -> None:
        chan.state = ChannelState.OPEN
        self._confirming.discard(chan.chan_id)
        self._link(chan)
        self.log.record(self.now_ns, "chan_open", scid=chan.scid)
        self._notify_watch(chan)

    def _finish_close(self, chan: Channel) -> None:
        chan.state = ChannelState.CLOSED
        self._confirming.discard(chan.chan_id)
        fee_sat = CLOSING_TX_VBYTES * self.chain.fee_rate_sat_per_vbyte
        for side, pubkey in enumerate((chan.node1, chan.node2)):
            amount_sat = (chan.balance_msat[side] + chan.in_flight_msat[side]) // 1000
            if pubkey == chan.opener:
                amount_sat = max(0, amount_sat - fee_sat)
            self.nodes[pubkey].onchain_balance_sat += amount_sat
        for pubkey in (chan.node1, chan.node2):
            ids = self.nodes[pubkey].channel_ids
            if chan.chan_id in ids:
                ids.remove(chan.chan_id)
        self.channel_ids_version += 1
        self.log.record(self.now_ns, "chan_closed", scid=chan.scid)
        self._notify_watch(chan)

    def _notify_watch(self, chan: Channel) -> None:
        if self.watched is not None and self.watched in (chan.node1, chan.node2):
            self.observer.on_channel_change(chan)
