"""Peer uptime from the recorded peer events, in the two meanings lnpilot uses.

Both count the time a peer was connected by its connect/disconnect events; time before
the collector first saw the peer is unknown, never counted as up or down. They differ in
what they divide by, on purpose:

- :func:`uptime_share_watched` (the channel metrics, the CLI, the API): the share of the
  window the collector watched, so a node watched for a day already shows a figure;
- :func:`uptime_permille_full_window` (the fee engine's matchers): per mille of the whole
  window, and only for windows watched from start to end, so a rule never acts on a
  partial window as if it were complete.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from lnpilot.store.records import PeerEvent


def _timelines(events: Sequence[PeerEvent]) -> dict[str, list[PeerEvent]]:
    """Events per peer, in the order given (the store reads them oldest first)."""
    by_peer: defaultdict[str, list[PeerEvent]] = defaultdict(list)
    for event in events:
        by_peer[event.pubkey].append(event)
    return by_peer


def _connected(timeline: Sequence[PeerEvent], start: datetime, now: datetime) -> timedelta:
    """Time in ``[start, now)`` the peer was connected, from its first event on."""
    connected = timedelta(0)
    ends = [*(e.at for e in timeline[1:]), now]
    for event, until in zip(timeline, ends, strict=True):
        if event.connected:
            connected += max(timedelta(0), min(until, now) - max(event.at, start))
    return connected


def uptime_share_watched(
    events: Sequence[PeerEvent], start: datetime, now: datetime
) -> dict[str, float]:
    """Per peer, the share (0..1) of ``[start, now)`` it was connected, over the part of
    that window the collector watched (from the peer's first event on)."""
    shares = {}
    for pubkey, timeline in _timelines(events).items():
        watched_from = max(start, timeline[0].at)
        if watched_from >= now:
            continue
        shares[pubkey] = _connected(timeline, watched_from, now) / (now - watched_from)
    return shares


def uptime_permille_full_window(
    events: Sequence[PeerEvent], windows_s: Sequence[int], now: datetime
) -> dict[str, dict[int, int]]:
    """Per peer and window (seconds, ending at ``now``), per mille of the window it was
    connected; a window the collector did not watch from its start is left out."""
    uptime: dict[str, dict[int, int]] = {}
    for pubkey, timeline in _timelines(events).items():
        uptime[pubkey] = {}
        for window_s in windows_s:
            window = timedelta(seconds=window_s)
            if timeline[0].at > now - window:
                continue  # not watched over the whole window
            uptime[pubkey][window_s] = _connected(timeline, now - window, now) * 1000 // window
    return uptime
