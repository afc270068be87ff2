"""Differences between what the store knew and what the node shows now, as events.

The node only ever shows its present state; what changed is found by comparing it with the
state the store recorded at the previous cycle. These functions are pure (the cycle hands
them both sides), so every rule below is tested without a node or a database.

- A cycle that finds no collector bookmark for the node is its first: it records the state
  as it is and derives nothing, otherwise every existing channel would be "opened" and every
  old close "closed" again.
- Peer connections change all the time for peers we only gossip with; only peers we have
  an open or opening channel with give events. The store keeps every peer's history anyway.
- A policy seen for the first time is not a change. Our own direction's changes come out as
  ``our_policy_changed`` only when lnpilot did not make them: the fee engine records what
  it sets (source ``lnpilot``) before the collector sees it, so the store already matches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from lnpilot.base.domain import Channel, ChannelPolicy, ChannelState, ClosedChannel
from lnpilot.store import Direction, Event, EventKind, PeerEvent, PolicyRecord
from lnpilot.store.records import JsonValue

#: What "open" means for events: the channel can route, or could once its peer is back.
_OPEN = frozenset({ChannelState.ACTIVE, ChannelState.INACTIVE})


def channel_events(
    before: Mapping[str, Channel], listed: Iterable[Channel], at: datetime
) -> list[Event]:
    """Opens, closes begun and activity changes; ``before`` is keyed by channel point."""
    found = []
    for channel in listed:
        old = before.get(channel.channel_point)
        old_state = old.state if old is not None else None
        new_state = channel.state
        if new_state in _OPEN and old_state not in _OPEN:
            found.append(
                _channel_event(
                    EventKind.CHANNEL_OPENED,
                    channel,
                    at,
                    capacity_sat=channel.capacity_sat,
                    initiator=channel.initiator.value,
                    private=channel.private,
                    active=new_state is ChannelState.ACTIVE,
                )
            )
        elif new_state is ChannelState.PENDING_CLOSE and old_state is not new_state:
            found.append(
                _channel_event(
                    EventKind.CHANNEL_CLOSING,
                    channel,
                    at,
                    local_balance_msat=channel.local_balance_msat,
                )
            )
        elif old_state in _OPEN and new_state in _OPEN and old_state is not new_state:
            kind = (
                EventKind.CHANNEL_ACTIVE
                if new_state is ChannelState.ACTIVE
                else EventKind.CHANNEL_INACTIVE
            )
            found.append(_channel_event(kind, channel, at))
    return found


def closed_events(newly_closed: Iterable[ClosedChannel], at: datetime) -> list[Event]:
    """One event per channel the node lists as closed for the first time."""
    return [
        Event(
            kind=EventKind.CHANNEL_CLOSED,
            at=at,
            chan_id=closed.chan_id,
            peer_pubkey=closed.peer_pubkey,
            payload={
                "scid": closed.scid,
                "channel_point": closed.channel_point,
                "close_type": closed.close_type.value,
                "close_initiator": closed.close_initiator.value,
                "open_initiator": closed.open_initiator.value,
                "capacity_sat": closed.capacity_sat,
                "settled_balance_sat": closed.settled_balance_sat,
                "closing_txid": closed.closing_txid,
                "close_height": closed.close_height,
            },
        )
        for closed in newly_closed
    ]


def peer_events(
    changes: Iterable[PeerEvent],
    known: Mapping[str, bool],
    channels: Sequence[Channel],
) -> list[Event]:
    """Disconnections and reconnections of peers we have an open or opening channel with
    (as listed now: a peer whose channels are all closing may go, and that is no news);
    ``known`` is the connection state the store had for each peer before the cycle."""
    scids: dict[str, set[str]] = {}
    aliases: dict[str, str | None] = {}
    for channel in channels:
        if channel.state not in _OPEN and channel.state is not ChannelState.PENDING_OPEN:
            continue
        scids.setdefault(channel.peer_pubkey, set()).add(channel.scid or channel.channel_point)
        aliases[channel.peer_pubkey] = aliases.get(channel.peer_pubkey) or channel.peer_alias
    return [
        Event(
            kind=EventKind.PEER_RECONNECTED if change.connected else EventKind.PEER_DISCONNECTED,
            at=change.at,
            peer_pubkey=change.pubkey,
            payload={
                "alias": aliases[change.pubkey],
                "channels": list[JsonValue](sorted(scids[change.pubkey])),
            },
        )
        for change in changes
        if change.pubkey in known and change.pubkey in scids
    ]


def policy_events(
    written: Iterable[PolicyRecord], before: Mapping[int, Channel], at: datetime
) -> list[Event]:
    """Policy changes of channels whose previous policy the store had; ``before`` is keyed
    by chan_id and carries the policies current before the cycle."""
    found = []
    for record in written:
        channel = before.get(record.chan_id)
        if channel is None:
            continue
        local = record.direction is Direction.LOCAL
        previous = channel.local_policy if local else channel.remote_policy
        if previous is None:
            continue
        found.append(
            Event(
                kind=EventKind.OUR_POLICY_CHANGED if local else EventKind.PEER_POLICY_CHANGED,
                at=at,
                chan_id=record.chan_id,
                peer_pubkey=channel.peer_pubkey,
                payload={
                    "scid": channel.scid,
                    "source": record.source.value,
                    "changes": _policy_changes(previous, record.policy),
                },
            )
        )
    return found


def gap_event(
    at: datetime,
    last_cycle_at: datetime,
    failed_cycles: int,
    last_error: str | None,
) -> Event:
    """The collector saw nothing between ``last_cycle_at`` and ``at``: the snapshots and
    peer changes of that time are missing (forwards are not: they are read by index)."""
    return Event(
        kind=EventKind.COLLECTOR_GAP,
        at=at,
        payload={
            "since": last_cycle_at.isoformat(),
            "gap_s": round((at - last_cycle_at).total_seconds(), 3),
            "failed_cycles": failed_cycles,
            "last_error": last_error,
        },
    )


def _channel_event(kind: EventKind, channel: Channel, at: datetime, **extra: JsonValue) -> Event:
    return Event(
        kind=kind,
        at=at,
        chan_id=channel.chan_id,
        peer_pubkey=channel.peer_pubkey,
        payload={"scid": channel.scid, "channel_point": channel.channel_point, **extra},
    )


def _policy_changes(old: ChannelPolicy, new: ChannelPolicy) -> dict[str, JsonValue]:
    """``{field: [old, new]}`` for every routing field that differs (not the gossip time)."""
    changes: dict[str, JsonValue] = {}
    for field in dataclasses.fields(ChannelPolicy):
        if field.name == "last_update":
            continue
        before, after = getattr(old, field.name), getattr(new, field.name)
        if before != after:
            changes[field.name] = [before, after]
    return changes
