"""What the alert engine keeps: alert episodes, notification groups, silences, probes,
incidents with their timelines and action plans. Frozen dataclasses; the book
(:mod:`lnpilot.store.alerts.book`) reads and writes them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from lnpilot.store.alerts.labels import Matcher
from lnpilot.store.outbox import Severity
from lnpilot.store.records import JsonValue


class AlertStatus(enum.StrEnum):
    PENDING = "pending"  # the condition holds, not yet for the rule's hold time
    FIRING = "firing"
    RESOLVED = "resolved"


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Horizon(enum.StrEnum):
    """The three horizons of an incident's action plan."""

    IMMEDIATE = "immediate"
    SHORT_TERM = "short_term"
    LONG_TERM = "long_term"


class ActionState(enum.StrEnum):
    PROPOSED = "proposed"  # waiting: for an operator (manual, destructive) or the runner
    APPROVED = "approved"  # an operator said yes; the runner carries it out in apply mode
    DRY_RUN = "dry_run"  # the runner recorded what it would have done (dry-run mode)
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Alert:
    """One episode of an alert: from the first evaluation its condition held to resolution.

    ``fingerprint`` identifies the alert across evaluations (its identifying labels);
    a new episode of the same fingerprint gets a new ``id``. ``suppressed`` says why a
    firing alert is not notified (``silence:ID`` or ``inhibited:FINGERPRINT``).
    """

    fingerprint: str
    rule: str
    severity: Severity
    status: AlertStatus
    labels: dict[str, str]
    summary: str
    active_since: datetime
    last_seen_at: datetime
    value: float | None = None
    details: dict[str, JsonValue] = field(default_factory=dict)
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    suppressed: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class GroupState:
    """What the notifier was last told about one group of alerts."""

    group_key: str
    labels: dict[str, str]
    active_since: datetime | None  # when the group last became non-empty
    last_notified_at: datetime | None
    notified: tuple[str, ...]  # fingerprints last notified as firing


@dataclass(frozen=True)
class Silence:
    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class Probe:
    """One health check of one backend: could it be reached, how fast, what it said.

    Fields a backend cannot tell (LNbits says nothing of chain sync, pending HTLCs need
    LND) are None: the rules that need them then have nothing to judge.
    """

    at: datetime
    backend: str
    ok: bool
    latency_ms: float | None = None
    error: str | None = None
    block_height: int | None = None
    synced_to_chain: bool | None = None
    onchain_confirmed_sat: int | None = None
    pending_htlcs: tuple[dict[str, JsonValue], ...] | None = None
    #: LNbits' installed extensions with a known security problem (see
    #: :mod:`lnpilot.lnbits.advisories`); None when the backend is not LNbits or would not say.
    extension_advisories: tuple[dict[str, JsonValue], ...] | None = None


@dataclass(frozen=True)
class Incident:
    """An incident as stored, with ``alert_resolved_at``: when the alert that opened it
    last resolved, None while it fires (or fired again). An incident outlives its alert on
    purpose (a person documents the cause), so it must say that its alert is over."""

    id: int
    node_id: int
    opened_at: datetime
    title: str
    severity: Severity
    status: IncidentStatus
    rule: str
    fingerprint: str
    labels: dict[str, str]
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    cause: str | None = None
    resolution: str | None = None
    alert_resolved_at: datetime | None = None


#: The timeline entries that follow the incident's alert (see ``monitor.incidents``).
ALERT_FIRING = "alert_firing"
ALERT_RESOLVED = "alert_resolved"


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    text: str
    author: str | None = None
    data: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentAction:
    """One step of an incident's plan: what, why, in which horizon, and may it run alone.

    ``safe`` actions (reversible policy changes) may be run by the action runner when the
    operator's policy allows it; the others wait for an explicit approval (a close) or are
    for a person to do (checks, contacting the peer).
    """

    horizon: Horizon
    kind: str
    description: str
    safe: bool
    params: dict[str, JsonValue] = field(default_factory=dict)
    state: ActionState = ActionState.PROPOSED
    result: str | None = None
    id: int | None = None
    incident_id: int | None = None
