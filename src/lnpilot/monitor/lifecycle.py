"""The alert lifecycle, modelled on Prometheus and Alertmanager, as pure functions.

1. :func:`advance`: what the rules observed now moves each alert along
   pending (the condition holds, not yet for the rule's ``for_s``) → firing → resolved.
   A pending alert whose condition stops is forgotten; a firing one resolves. Alerts of a
   rule that could not be evaluated this time stay as they are: missing data is not
   recovery. Two findings with the same identifying labels are one alert (deduplication).
2. :func:`suppress`: a firing alert matched by a silence in force, or inhibited by another
   firing alert (the node unreachable inhibits its channel alerts), is not notified.
3. :func:`plan_notices`: alerts are grouped by ``group_by`` labels; a group is notified
   after ``group_wait_s``, again when its alerts change (no sooner than
   ``group_interval_s`` after the previous notice), and re-sent unchanged every
   ``repeat_interval_s``; alerts that resolved after being notified get one resolved notice.

No I/O and no clock here: the engine passes ``now`` and the stored state in, and stores
what comes out, so the same inputs always give the same decisions (and the property tests
can drive it through any history).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from lnpilot.monitor.config import Grouping, InhibitRule
from lnpilot.store.alerts import Alert, AlertStatus, GroupState, Matcher, Silence, all_match
from lnpilot.store.outbox import Notice, NoticeAlert, Severity
from lnpilot.store.records import JsonValue

#: Labels that describe rather than identify (an alias may change): not in fingerprints.
DISPLAY_LABELS = frozenset({"severity", "peer_alias"})


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable id of an alert from its identifying labels."""
    identity = sorted((k, v) for k, v in labels.items() if k not in DISPLAY_LABELS)
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


@dataclass(frozen=True)
class Observation:
    """A finding of a rule, with the labels and severity its alert will carry."""

    rule: str
    severity: Severity
    labels: dict[str, str]
    summary: str
    hold_s: float
    value: float | None = None
    details: dict[str, JsonValue] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)


@dataclass(frozen=True)
class Advance:
    """The outcome of one evaluation round."""

    current: list[Alert]  # pending and firing now, and those resolved this round
    dropped: list[Alert]  # pending episodes whose condition stopped before firing
    fired: list[Alert]  # turned firing this round
    resolved: list[Alert]  # turned resolved this round


def advance(
    open_alerts: Sequence[Alert],
    observed: Iterable[Observation],
    evaluated: set[str],
    now: datetime,
) -> Advance:
    """Move ``open_alerts`` (pending and firing) along given what was ``observed`` by the
    rules in ``evaluated`` at ``now``."""
    seen: dict[str, Observation] = {}
    for obs in observed:
        kept = seen.get(obs.fingerprint)
        if kept is None or obs.severity.rank > kept.severity.rank:
            seen[obs.fingerprint] = obs
    by_fp = {a.fingerprint: a for a in open_alerts}
    current, dropped, fired, resolved = [], [], [], []
    for fp, obs in seen.items():
        alert = by_fp.get(fp) or Alert(
            fingerprint=fp,
            rule=obs.rule,
            severity=obs.severity,
            status=AlertStatus.PENDING,
            labels=obs.labels,
            summary=obs.summary,
            active_since=now,
            last_seen_at=now,
        )
        alert = replace(
            alert,
            severity=obs.severity,
            labels=obs.labels,
            summary=obs.summary,
            value=obs.value,
            details=obs.details,
            last_seen_at=now,
        )
        held = now - alert.active_since >= timedelta(seconds=obs.hold_s)
        if alert.status is AlertStatus.PENDING and held:
            alert = replace(alert, status=AlertStatus.FIRING, fired_at=now)
            fired.append(alert)
        current.append(alert)
    for alert in open_alerts:
        if alert.fingerprint in seen:
            continue
        if alert.rule not in evaluated:
            current.append(alert)
        elif alert.status is AlertStatus.PENDING:
            dropped.append(alert)
        else:
            ended = replace(alert, status=AlertStatus.RESOLVED, resolved_at=now, suppressed=None)
            resolved.append(ended)
            current.append(ended)
    return Advance(current, dropped, fired, resolved)


def suppress(
    alerts: Sequence[Alert],
    silences: Sequence[Silence],
    inhibit: Sequence[InhibitRule],
    now: datetime,
) -> list[Alert]:
    """``alerts`` with ``suppressed`` set on the firing ones a silence in force or an
    inhibition covers (and cleared on the others)."""
    firing = [a for a in alerts if a.status is AlertStatus.FIRING]
    active = [s for s in silences if s.active(now)]
    rules = [(r.source_matchers(), r.target_matchers(), r.equal) for r in inhibit]
    out = []
    for alert in alerts:
        reason = None
        if alert.status is AlertStatus.FIRING:
            reason = _silenced_by(alert, active) or _inhibited_by(alert, firing, rules)
        out.append(alert if alert.suppressed == reason else replace(alert, suppressed=reason))
    return out


def _silenced_by(alert: Alert, silences: Sequence[Silence]) -> str | None:
    for silence in silences:
        if all_match(silence.matchers, alert.labels):
            return f"silence:{silence.id}"
    return None


def _inhibited_by(
    alert: Alert,
    firing: Sequence[Alert],
    rules: Sequence[tuple[tuple[Matcher, ...], tuple[Matcher, ...], tuple[str, ...]]],
) -> str | None:
    for source_m, target_m, equal in rules:
        if not all_match(target_m, alert.labels):
            continue
        for source in firing:
            if (
                source.fingerprint != alert.fingerprint
                and all_match(source_m, source.labels)
                and all(source.labels.get(k) == alert.labels.get(k) for k in equal)
            ):
                return f"inhibited:{source.rule}"
    return None


def group_of(labels: Mapping[str, str], grouping: Grouping) -> tuple[str, dict[str, str]]:
    """The key and labels of the group an alert with ``labels`` belongs to."""
    group_labels = {k: labels[k] for k in grouping.group_by if k in labels}
    return json.dumps(sorted(group_labels.items())), group_labels


@dataclass(frozen=True)
class NoticePlan:
    notices: list[Notice]
    save: list[GroupState]
    drop: list[str]  # group keys with nothing left to tell


def plan_notices(
    groups: Mapping[str, GroupState],
    notifiable: Sequence[Alert],
    episodes: Mapping[str, Alert],
    grouping: Grouping,
    now: datetime,
) -> NoticePlan:
    """Decide which groups to notify now.

    ``notifiable`` are the firing, unsuppressed alerts; ``episodes`` the latest episode of
    every fingerprint a group last notified as firing (to tell which of them resolved).
    """
    firing_by_group: dict[str, list[Alert]] = {}
    labels_of: dict[str, dict[str, str]] = {}
    for alert in notifiable:
        key, labels = group_of(alert.labels, grouping)
        firing_by_group.setdefault(key, []).append(alert)
        labels_of[key] = labels
    notices, save, drop = [], [], []
    for key in sorted(set(groups) | set(firing_by_group)):
        firing = sorted(firing_by_group.get(key, []), key=lambda a: a.fingerprint)
        state = groups.get(key) or GroupState(key, labels_of[key], None, None, ())
        firing_fps = {a.fingerprint for a in firing}
        resolved = [
            episodes[fp]
            for fp in state.notified
            if fp not in firing_fps
            and fp in episodes
            and episodes[fp].status is AlertStatus.RESOLVED
        ]
        new = firing_fps - set(state.notified)
        active_since = (state.active_since or now) if firing else None
        if state.last_notified_at is None:
            due = bool(firing) and now - (active_since or now) >= _s(grouping.group_wait_s)
        elif new or (resolved and grouping.send_resolved):
            due = now - state.last_notified_at >= _s(grouping.group_interval_s)
        else:
            due = bool(firing) and now - state.last_notified_at >= _s(grouping.repeat_interval_s)
        if due:
            told = resolved if grouping.send_resolved else []
            notices.append(
                Notice(
                    group_key=key,
                    group_labels=state.labels,
                    alerts=tuple(_notice_alert(a) for a in [*firing, *told]),
                    created_at=now,
                )
            )
            state = GroupState(key, state.labels, active_since, now, tuple(sorted(firing_fps)))
        else:
            # Alerts that left the group without a notice due (silenced, or resolved while
            # resolved notices are off) stop counting as notified.
            still = tuple(
                fp
                for fp in state.notified
                if fp in firing_fps or (grouping.send_resolved and episodes.get(fp) in resolved)
            )
            state = GroupState(key, state.labels, active_since, state.last_notified_at, still)
        # A group told everything is kept until group_interval has passed since its last
        # notice: an alert that flaps back within it waits the interval like any change,
        # instead of opening a new group that would notify again after group_wait alone.
        cooling = state.last_notified_at is not None and now - state.last_notified_at < _s(
            grouping.group_interval_s
        )
        if firing or state.notified or cooling:
            save.append(state)
        elif key in groups:
            drop.append(key)
    return NoticePlan(notices, save, drop)


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def _notice_alert(alert: Alert) -> NoticeAlert:
    return NoticeAlert(
        fingerprint=alert.fingerprint,
        rule=alert.rule,
        severity=alert.severity,
        status="firing" if alert.status is AlertStatus.FIRING else "resolved",
        summary=alert.summary,
        labels=alert.labels,
        starts_at=alert.fired_at or alert.active_since,
        ends_at=alert.resolved_at,
        value=alert.value,
    )
