"""The data of the simulated network: nodes, channels and per-direction policies.

Plain mutable dataclasses with slots, because the simulation updates balances millions of
times and attribute access on slotted objects is the cheapest Python offers. Everything that
is money is an integer in msat (balances, fees, HTLC limits) or sat where the Lightning
protocol itself speaks sat (capacity, reserve), with the unit in the name.

A channel's two directions are indexed 0 and 1: direction 0 is node1 → node2, set by node1,
where node1 is the lexicographically smaller pubkey (as in BOLT 7 and the snapshot files).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

#: LND's default limit of HTLCs a peer may add to one side of a channel (BOLT 2 maximum).
DEFAULT_MAX_ACCEPTED_HTLCS = 483


def scid_to_chan_id(scid: str) -> int:
    """LND's numeric channel id of a `BLOCKxTXxOUT` short channel id (block<<40|tx<<16|out)."""
    block, tx, out = parse_scid(scid)
    return (block << 40) | (tx << 16) | out


def chan_id_to_scid(chan_id: int) -> str:
    """The `BLOCKxTXxOUT` form of LND's numeric channel id."""
    return f"{chan_id >> 40}x{(chan_id >> 16) & 0xFFFFFF}x{chan_id & 0xFFFF}"


def parse_scid(scid: str) -> tuple[int, int, int]:
    """Split a `BLOCKxTXxOUT` short channel id, refusing anything else by name."""
    parts = scid.split("x")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"short channel id {scid!r} is not of the form BLOCKxTXxOUT")
    block, tx, out = (int(p) for p in parts)
    if block >= 1 << 24 or tx >= 1 << 24 or out >= 1 << 16:
        raise ValueError(f"short channel id {scid!r} is out of range")
    return block, tx, out


class ChannelState(enum.Enum):
    """Life of a channel as LND reports it (pending open, open, waiting close, closed)."""

    PENDING_OPEN = "pending_open"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class CloseType(enum.Enum):
    """LND's `ChannelCloseSummary.ClosureType` names, so the face can pass them through."""

    COOPERATIVE_CLOSE = "COOPERATIVE_CLOSE"
    LOCAL_FORCE_CLOSE = "LOCAL_FORCE_CLOSE"
    REMOTE_FORCE_CLOSE = "REMOTE_FORCE_CLOSE"


@dataclass(slots=True)
class Policy:
    """A routing policy for one direction, set by the node at that direction's start.

    The inbound fields apply to HTLCs that arrive at the setting node over this channel (LND
    0.18 advertises them in the same channel update); they are signed so a node can offer a
    discount for liquidity it wants to receive.
    """

    base_fee_msat: int = 1000
    fee_rate_ppm: int = 1
    inbound_base_fee_msat: int = 0
    inbound_fee_rate_ppm: int = 0
    min_htlc_msat: int = 1000
    max_htlc_msat: int = 0
    cltv_delta: int = 80
    disabled: bool = False
    last_update_ns: int = 0

    def copy(self) -> Policy:
        """An independent copy, for history and for handing out without aliasing."""
        return Policy(
            self.base_fee_msat,
            self.fee_rate_ppm,
            self.inbound_base_fee_msat,
            self.inbound_fee_rate_ppm,
            self.min_htlc_msat,
            self.max_htlc_msat,
            self.cltv_delta,
            self.disabled,
            self.last_update_ns,
        )


@dataclass(slots=True)
class Node:
    """A Lightning node: identity, whether it is reachable now, and how often it is.

    `uptime` is the long-run share of time the node is online (0..1); the dynamics use it to
    draw offline spells. `privkey` is set when the simulation can sign for this node (generated
    and scenario nodes); snapshot nodes keep their real public keys and have none.
    """

    pubkey: str
    alias: str
    online: bool = True
    uptime: float = 1.0
    color: str = "#3399ff"
    privkey: int | None = None
    onchain_balance_sat: int = 0
    last_update_ns: int = 0
    #: channel ids of this node (open and pending), kept in sync by the network.
    channel_ids: list[int] = field(default_factory=list)

    @property
    def address(self) -> str:
        """A stable, clearly fake address for gossip and `connect` (never dialled)."""
        return f"{self.pubkey[:16]}.simnet.invalid:9735"


@dataclass(slots=True, eq=False)
class Channel:
    """A channel between node1 and node2 (node1 < node2 lexicographically).

    Compared by identity: a channel is one object in one network, and field-by-field
    equality would be both wrong (two channels can look alike) and slow on the hot path.

    Balances are per side in msat and exclude HTLCs in flight, which are held in
    `in_flight_msat` per offering side until they settle or fail. The opener pays nothing
    extra here (commitment fees are not modelled); the reserve is what each side must keep
    once it has it, as in BOLT 2.
    """

    chan_id: int
    scid: str
    node1: str
    node2: str
    capacity_sat: int
    balance_msat: list[int]
    policies: list[Policy]
    funding_txid: str
    output_index: int
    opener: str
    reserve_sat: int = 0
    #: the reserve the opener asked its peer to keep (LND's ``remote_chan_reserve_sat``);
    #: None: the peer keeps ``reserve_sat`` like the opener.
    acceptor_reserve_sat: int | None = None
    max_accepted_htlcs: int = DEFAULT_MAX_ACCEPTED_HTLCS
    state: ChannelState = ChannelState.OPEN
    private: bool = False
    open_height: int = 0
    confirmations_needed: int = 3
    close_height: int = 0
    #: height at which a force close's time-locked output becomes spendable (0: none).
    maturity_height: int = 0
    close_type: CloseType | None = None
    close_initiator: str | None = None
    closing_txid: str = ""
    in_flight_msat: list[int] = field(default_factory=lambda: [0, 0])
    in_flight_count: list[int] = field(default_factory=lambda: [0, 0])
    #: total msat sent from each side over the channel's life (LND's total_satoshis_sent).
    sent_msat: list[int] = field(default_factory=lambda: [0, 0])
    num_updates: int = 0
    #: next HTLC id per offering side (LND's per-channel htlc index).
    next_htlc_id: list[int] = field(default_factory=lambda: [0, 0])

    @property
    def channel_point(self) -> str:
        """`txid:index`, the form LND uses in `channel_point`."""
        return f"{self.funding_txid}:{self.output_index}"

    @property
    def capacity_msat(self) -> int:
        return self.capacity_sat * 1000

    @property
    def reserve_msat(self) -> int:
        return self.reserve_sat * 1000

    def reserve_sat_of(self, side: int) -> int:
        """What `side` must keep: the opener ``reserve_sat``, its peer what the opener asked."""
        if self.acceptor_reserve_sat is None or (self.node1, self.node2)[side] == self.opener:
            return self.reserve_sat
        return self.acceptor_reserve_sat

    def side_of(self, pubkey: str) -> int:
        """0 if `pubkey` is node1, 1 if node2; a ValueError names the stranger otherwise."""
        if pubkey == self.node1:
            return 0
        if pubkey == self.node2:
            return 1
        raise ValueError(f"node {pubkey} is not an end of channel {self.scid}")

    def peer_of(self, pubkey: str) -> str:
        return self.node2 if pubkey == self.node1 else self.node1

    def sendable_msat(self, side: int) -> int:
        """What `side` can add as a new HTLC now: its balance above its reserve."""
        return max(0, self.balance_msat[side] - self.reserve_sat_of(side) * 1000)
