"""Why an incident opened: what changed around it, from the store, ranked with its evidence.

An operator's first question about an incident is "what happened just before?". The store
already holds the answer's pieces: peers leaving and coming back, policy changes (ours and
the peer's), closes, failed forwards and their reasons, rebalances and their routes, the
node's own outages (failed probes, collector gaps: a restart of the node shows as one, as
the node reports no uptime). When an incident opens, this module
looks at the ``LOOKBACK`` before it, keeps what concerns the incident's channel or peer
(or the whole node, for a node or backend alert), and ranks each finding by how well it
explains this kind of alert and how recent it is. The result is written on the incident's
timeline (``causes``), so the record shows what was known when it opened; the API, the
CLI, the dashboard and the Markdown export read it from there (:func:`causes_of`).

The ranking is a heuristic, and says so: each cause carries a score in [0, 1] and the
evidence behind it, for a person to judge. What the store does not record is listed as
``not_checked`` instead of being silently skipped (on-chain fee rates, for one).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lnpilot.base.domain import ChannelPolicy, chan_id_from_scid
from lnpilot.store import EventKind, StoreReader
from lnpilot.store.alerts import Incident, MonitorBook, TimelineEntry
from lnpilot.store.levels import EPOCH
from lnpilot.store.rebalances import attempts, executed
from lnpilot.store.records import Direction, JsonValue, PolicyRecord

#: How far back before an incident's opening changes are looked for.
LOOKBACK = timedelta(hours=6)
#: The timeline entry kind that holds an incident's likely causes.
CAUSES = "causes"
#: What could explain an incident but is not in the store.
NOT_CHECKED = ("on-chain fee rates (lnpilot does not collect them yet)",)
#: Disconnections of one peer within ``LOOKBACK`` that make it flapping.
FLAPPING_DISCONNECTS = 3


@dataclass(frozen=True)
class Cause:
    """One likely cause: its kind, a score in [0, 1] (higher explains more), one line for
    people, when it happened, and the evidence as data."""

    kind: str
    score: float
    summary: str
    at: datetime | None = None
    evidence: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True)
class _Scope:
    """What the incident is about: a channel, a peer, a backend, or the node."""

    kind: str
    chan_id: int | None
    peer: str | None


def _scope(incident: Incident) -> _Scope:
    labels = incident.labels
    chan_id = None
    scid = labels.get("scid")
    if scid:
        try:
            chan_id = chan_id_from_scid(scid)
        except ValueError:  # a channel point: a channel not confirmed yet
            chan_id = None
    return _Scope(labels.get("scope", "node"), chan_id, labels.get("peer"))


def _recent(score: float, at: datetime | None, opened_at: datetime) -> float:
    """``score`` weighed by recency: full at the opening, half at the start of the lookback."""
    if at is None:
        return round(score, 3)
    age = min(max((opened_at - at) / LOOKBACK, 0.0), 1.0)
    return round(score * (1 - age / 2), 3)


async def explain(
    reader: StoreReader, book: MonitorBook, incident: Incident
) -> tuple[list[Cause], tuple[str, ...]]:
    """The likely causes of ``incident``, best first, and what could not be checked."""
    scope = _scope(incident)
    end = incident.opened_at + timedelta(microseconds=1)
    start = incident.opened_at - LOOKBACK
    found: list[Cause] = []
    found += await _closes(book, incident.node_id, scope, start, end)
    found += await _peer_changes(reader, incident.node_id, scope, start, end)
    found += await _policy_changes(reader, incident.node_id, scope, start, end)
    found += await _failed_forwards(reader, incident.node_id, scope, start, end)
    found += await _rebalances(reader, incident.node_id, scope, start)
    found += await _outages(reader, book, incident.node_id, scope, start, end)
    ranked = [
        dataclasses.replace(c, score=_recent(c.score, c.at, incident.opened_at)) for c in found
    ]
    ranked.sort(key=lambda c: (-c.score, c.kind, c.summary))
    return ranked, NOT_CHECKED


async def _closes(
    book: MonitorBook, node_id: int, scope: _Scope, start: datetime, end: datetime
) -> list[Cause]:
    found = []
    for channel, at in await book.closed_between(node_id, start, end):
        ours = scope.chan_id is not None and channel.chan_id == scope.chan_id
        if not ours and scope.peer is not None and channel.peer_pubkey != scope.peer:
            continue
        force = channel.close_type.value.endswith("force")
        score = (0.95 if force else 0.85) if ours else 0.5
        found.append(
            Cause(
                "channel_closed",
                score,
                f"channel {channel.scid or channel.channel_point} closed "
                f"({channel.close_type.value}, by {channel.close_initiator.value})",
                at,
                {
                    "scid": channel.scid,
                    "close_type": channel.close_type.value,
                    "close_initiator": channel.close_initiator.value,
                    "capacity_sat": channel.capacity_sat,
                    "closing_txid": channel.closing_txid,
                },
            )
        )
    return found


async def _peer_changes(
    reader: StoreReader, node_id: int, scope: _Scope, start: datetime, end: datetime
) -> list[Cause]:
    if scope.peer is None:
        return []
    seen = await reader.peer_events(node_id, start, end, pubkey=scope.peer)
    disconnects = [e for e in seen if not e.connected]
    if not disconnects:
        return []
    evidence: dict[str, JsonValue] = {
        "peer": scope.peer,
        "disconnects": len(disconnects),
        "changes": [{"at": e.at.isoformat(), "connected": e.connected} for e in seen],
    }
    if len(disconnects) >= FLAPPING_DISCONNECTS:
        summary = f"peer {scope.peer[:16]}… flapping: {len(disconnects)} disconnections"
        return [Cause("peer_flapping", 0.75, summary, disconnects[-1].at, evidence)]
    if not seen[-1].connected:
        summary = f"peer {scope.peer[:16]}… went offline and had not come back"
        return [Cause("peer_offline", 0.85, summary, seen[-1].at, evidence)]
    summary = f"peer {scope.peer[:16]}… was offline for a while"
    return [Cause("peer_offline", 0.4, summary, disconnects[-1].at, evidence)]


def _policy_text(policy: ChannelPolicy) -> str:
    disabled = ", disabled" if policy.disabled else ""
    return f"{policy.fee_rate_ppm} ppm + {policy.base_fee_msat} msat{disabled}"


async def _policy_changes(
    reader: StoreReader, node_id: int, scope: _Scope, start: datetime, end: datetime
) -> list[Cause]:
    """Changes of the channel's policies in the lookback: a record with one before it (the
    first record of a direction is when it was first seen, not a change)."""
    if scope.chan_id is None:
        return []
    history = await reader.policy_history(node_id, scope.chan_id, EPOCH, end)
    found = []
    last: dict[Direction, PolicyRecord] = {}
    for record in history:
        before = last.get(record.direction)
        last[record.direction] = record
        if before is None or record.at < start:
            continue
        peer = record.direction is Direction.REMOTE
        whose = "the peer" if peer else "we"
        found.append(
            Cause(
                "peer_policy_changed" if peer else "our_policy_changed",
                0.45 if peer else 0.5,
                f"{whose} changed the policy: {_policy_text(before.policy)} -> "
                f"{_policy_text(record.policy)} ({record.source.value})",
                record.at,
                {
                    "direction": record.direction.value,
                    "source": record.source.value,
                    "fee_rate_ppm_before": before.policy.fee_rate_ppm,
                    "fee_rate_ppm_after": record.policy.fee_rate_ppm,
                    "base_fee_msat_before": before.policy.base_fee_msat,
                    "base_fee_msat_after": record.policy.base_fee_msat,
                    "disabled_after": record.policy.disabled,
                },
            )
        )
    return found


async def _failed_forwards(
    reader: StoreReader, node_id: int, scope: _Scope, start: datetime, end: datetime
) -> list[Cause]:
    if scope.kind == "backend":
        return []
    failed = await reader.failed_forwards(node_id, start, end, chan_id=scope.chan_id)
    if not failed:
        return []
    reasons = Counter(f.failure for f in failed)
    where = f"on {scope.chan_id}" if scope.chan_id is not None else "on the node"
    listed = ", ".join(f"{reason} x{n}" for reason, n in reasons.most_common(3))
    return [
        Cause(
            "failed_forwards",
            0.3 + 0.4 * min(1.0, len(failed) / 20),
            f"{len(failed)} failed forwards {where}: {listed}",
            failed[-1].timestamp,
            {"count": len(failed), "by_reason": dict(reasons.most_common())},
        )
    ]


async def _rebalances(
    reader: StoreReader, node_id: int, scope: _Scope, start: datetime
) -> list[Cause]:
    if scope.chan_id is None:
        return []
    moved = [
        d
        for d in await executed(reader, node_id, start)
        if scope.chan_id in (d.chan_id, d.source_chan_id)
    ]
    if not moved:
        return []
    tried = await attempts(reader, [d.id for d in moved if d.id is not None])
    found = []
    for decision in moved:
        routes = [a.hops for a in tried if a.decision_id == decision.id and a.hops]
        into = decision.chan_id == scope.chan_id
        found.append(
            Cause(
                "rebalance",
                0.35,
                f"rebalance {'into' if into else 'out of'} this channel "
                f"({decision.outcome}, {(decision.moved_msat or 0) // 1000:,} sat moved, "
                f"fee {(decision.fee_paid_msat or 0) // 1000:,} sat)",
                decision.started_at,
                {
                    "decision_id": decision.id,
                    "outcome": decision.outcome,
                    "into": decision.scid,
                    "from": decision.source_scid,
                    "moved_msat": decision.moved_msat,
                    "fee_paid_msat": decision.fee_paid_msat,
                    "routes": list(routes[-1:]),
                },
            )
        )
    return found


async def _outages(
    reader: StoreReader,
    book: MonitorBook,
    node_id: int,
    scope: _Scope,
    start: datetime,
    end: datetime,
) -> list[Cause]:
    """The node (or LNbits) out of reach: failed probes, and gaps the collector recorded."""
    weight = 0.9 if scope.kind in ("backend", "node") else 0.3
    found = []
    failed = [p for p in await book.probes(node_id, start, end) if not p.ok]
    if failed:
        backends = sorted({p.backend for p in failed})
        found.append(
            Cause(
                "node_unreachable",
                weight,
                f"{', '.join(backends)} did not answer {len(failed)} probes "
                f"(last: {failed[-1].error or 'no answer'})",
                failed[-1].at,
                {
                    "failed_probes": len(failed),
                    "first_at": failed[0].at.isoformat(),
                    "last_error": failed[-1].error,
                },
            )
        )
    gaps = await reader.events(node_id, start, end, kinds=[EventKind.COLLECTOR_GAP])
    for gap in gaps:
        found.append(
            Cause(
                "collector_gap",
                weight * 0.8,
                f"nothing was collected for {gap.payload.get('gap_s')} s",
                gap.at,
                dict(gap.payload),
            )
        )
    return found


def causes_entry(
    causes: Sequence[Cause], not_checked: Sequence[str], at: datetime
) -> TimelineEntry:
    """The timeline entry that records ``causes`` on an incident."""
    text = (
        "likely causes: " + "; ".join(f"{c.summary} ({c.score:.2f})" for c in causes[:3])
        if causes
        else "no change around the opening explains it in the store"
    )
    data: dict[str, JsonValue] = {
        "causes": [
            {
                "kind": c.kind,
                "score": c.score,
                "summary": c.summary,
                "at": c.at.isoformat() if c.at else None,
                "evidence": c.evidence,
            }
            for c in causes
        ],
        "not_checked": list(not_checked),
    }
    return TimelineEntry(at, CAUSES, text, data=data)


def _recorded(timeline: Sequence[TimelineEntry]) -> TimelineEntry | None:
    return next((e for e in reversed(timeline) if e.kind == CAUSES), None)


def not_checked_of(timeline: Sequence[TimelineEntry]) -> list[str] | None:
    """What the recorded explanation could not look at; None when none was recorded (an
    incident opened before lnpilot gathered causes)."""
    entry = _recorded(timeline)
    if entry is None:
        return None
    listed = entry.data.get("not_checked")
    return [str(item) for item in listed] if isinstance(listed, list) else []


def causes_of(timeline: Sequence[TimelineEntry]) -> list[Cause]:
    """The causes recorded on an incident's timeline (the latest record), best first."""
    entry = _recorded(timeline)
    if entry is None:
        return []
    listed = entry.data.get("causes")
    causes = []
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        at = item.get("at")
        evidence = item.get("evidence")
        score = item.get("score")
        causes.append(
            Cause(
                kind=str(item.get("kind")),
                score=float(score) if isinstance(score, int | float) else 0.0,
                summary=str(item.get("summary")),
                at=datetime.fromisoformat(at) if isinstance(at, str) else None,
                evidence=evidence if isinstance(evidence, dict) else {},
            )
        )
    return causes
