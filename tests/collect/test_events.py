"""The event rules on their own, where the simulated node does not reach: peers we only
gossip with, a policy seen for the first time, a channel that appears already closing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from lnpilot.base.domain import Channel, ChannelPolicy, ChannelState
from lnpilot.collect.events import channel_events, peer_events, policy_events
from lnpilot.store import Direction, EventKind, PeerEvent, PolicyRecord, PolicySource

AT = datetime(2025, 6, 1, tzinfo=UTC)
PEER, GOSSIP = "02" + "11" * 32, "02" + "22" * 32
OPEN = Channel(
    scid="800000x1x0",
    chan_id=800_000 << 40 | 1 << 16,
    channel_point="ab" * 32 + ":0",
    peer_pubkey=PEER,
    capacity_sat=1_000_000,
    local_balance_msat=500_000_000,
    remote_balance_msat=500_000_000,
    state=ChannelState.ACTIVE,
)


def test_only_peers_with_an_open_or_opening_channel_give_events() -> None:
    changes = [PeerEvent(PEER, AT, connected=False), PeerEvent(GOSSIP, AT, connected=False)]
    known = {PEER: True, GOSSIP: True}
    [event] = peer_events(changes, known, [OPEN])
    assert (event.kind, event.peer_pubkey) == (EventKind.PEER_DISCONNECTED, PEER)
    closing = replace(OPEN, state=ChannelState.PENDING_CLOSE)
    assert peer_events(changes, known, [closing]) == []
    assert peer_events(changes, {}, [OPEN]) == []  # first sightings are no news


def test_a_policy_seen_for_the_first_time_is_no_change() -> None:
    chan_id = OPEN.chan_id
    assert chan_id is not None
    record = PolicyRecord(
        chan_id, Direction.REMOTE, PolicySource.PEER, AT, ChannelPolicy(1000, 100)
    )
    assert policy_events([record], {chan_id: OPEN}, AT) == []
    known = replace(OPEN, remote_policy=ChannelPolicy(1000, 100, disabled=True))
    [event] = policy_events([record], {chan_id: known}, AT)
    assert event.payload["changes"] == {"disabled": [True, False]}


def test_a_channel_first_seen_closing_is_closing_not_opened() -> None:
    closing = replace(OPEN, state=ChannelState.PENDING_CLOSE)
    [event] = channel_events({}, [closing], AT)
    assert event.kind == EventKind.CHANNEL_CLOSING
    assert channel_events({closing.channel_point: closing}, [closing], AT) == []
