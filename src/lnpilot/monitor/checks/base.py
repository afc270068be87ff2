"""What every evaluator gets (a :class:`Context` over one store snapshot) and gives back.

Evaluators read the store only, never the node: what they see is what the collector and
the probes recorded, so the same rules judge a live node and a replayed history alike,
given the time ``now`` they are asked about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lnpilot.base.domain import Channel, ChannelState, Peer
from lnpilot.store import StoreReader
from lnpilot.store.alerts import MonitorBook, Probe
from lnpilot.store.outbox import Severity
from lnpilot.store.records import JsonValue

_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Finding:
    """A rule's condition holding for one subject right now.

    ``labels`` identify the subject (``scope`` and e.g. ``scid``/``peer``/``backend``);
    ``severity`` overrides the rule's when the finding itself is graver (a force close).
    """

    labels: dict[str, str]
    summary: str
    value: float | None = None
    severity: Severity | None = None
    details: dict[str, JsonValue] = field(default_factory=dict)


@dataclass
class Context:
    """One evaluation: the node, the time judged, and the store read as of then.

    Channel and peer lists are read once per evaluation and shared by the rules.
    ``collect_interval`` is the collector's schedule measured on the clock ``now`` comes
    from, when known: what "stale" means is judged against it.
    """

    reader: StoreReader
    book: MonitorBook
    node_id: int
    now: datetime
    collect_interval: timedelta | None = None
    _channels: list[Channel] | None = None
    _peers: list[Peer] | None = None

    @property
    def end(self) -> datetime:
        """The end of windows that must include ``now`` (reads are half-open): what the
        collector recorded at the instant judged counts."""
        return self.now + _ONE_US

    async def channels(self) -> list[Channel]:
        """Confirmed open channels (active or not), as last recorded."""
        if self._channels is None:
            listed = await self.reader.channels(self.node_id)
            self._channels = [
                c
                for c in listed
                if c.chan_id is not None and c.state in (ChannelState.ACTIVE, ChannelState.INACTIVE)
            ]
        return self._channels

    async def peers(self) -> list[Peer]:
        if self._peers is None:
            self._peers = await self.reader.peers(self.node_id)
        return self._peers

    async def probes(self, window_s: float) -> dict[str, list[Probe]]:
        """Each backend's probes over the last ``window_s`` up to ``now``, oldest first."""
        found = await self.book.probes(
            self.node_id, self.now - timedelta(seconds=window_s), self.end
        )
        by_backend: dict[str, list[Probe]] = {}
        for probe in found:
            by_backend.setdefault(probe.backend, []).append(probe)
        return by_backend

    async def latest_ok_probes(self, window_s: float) -> list[Probe]:
        """The latest successful probe of each backend over the last ``window_s``."""
        latest = []
        for probes in (await self.probes(window_s)).values():
            ok = [p for p in probes if p.ok]
            if ok:
                latest.append(ok[-1])
        return latest


def channel_labels(channel: Channel) -> dict[str, str]:
    """The labels of a channel-scoped alert (``peer_alias`` is for display only)."""
    labels = {
        "scope": "channel",
        "scid": channel.scid or channel.channel_point,
        "peer": channel.peer_pubkey,
    }
    if channel.peer_alias:
        labels["peer_alias"] = channel.peer_alias
    return labels


def peer_name(channel_or_peer: Channel | Peer) -> str:
    """The alias if any, else the pubkey's first 16 hex digits."""
    if isinstance(channel_or_peer, Channel):
        alias, pubkey = channel_or_peer.peer_alias, channel_or_peer.peer_pubkey
    else:
        alias, pubkey = channel_or_peer.alias, channel_or_peer.pubkey
    return alias or pubkey[:16]


def sat_text(msat: int) -> str:
    return f"{msat // 1000:,} sat"
