"""One evaluation cycle of the alert engine, for one node, at one instant.

1. Probe the node's backends (when a node is given) and store the probes.
2. Evaluate every enabled rule over one snapshot of the store. A rule that fails is
   logged and skipped; its alerts keep their state.
3. In one write transaction: move the alerts along their lifecycle, apply silences and
   inhibitions, open incidents for newly notifiable grave alerts, and enqueue the notices
   that are due. Committing these together is what makes notifications exactly as many as
   the state changes: a crash before the commit changes nothing, and the next cycle
   decides again.
4. Write on each new incident what changed around its opening, ranked
   (:mod:`lnpilot.monitor.causes`).
5. Let the action runner carry out what the incident policy allows (when a node is given).

The daemon calls :meth:`Monitor.run_once` on its schedule; replays and tests call it with
their own ``now``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lnpilot.base.redact import redact_text
from lnpilot.monitor.causes import causes_entry, explain
from lnpilot.monitor.checks import CHECKS, Context
from lnpilot.monitor.config import MonitorConfig
from lnpilot.monitor.incidents import ActionOutcome, ActionRunner, note_resolved, open_or_update
from lnpilot.monitor.lifecycle import Observation, advance, plan_notices, suppress
from lnpilot.monitor.probe import probe_node
from lnpilot.node.backend import NodeBackend
from lnpilot.store import Store
from lnpilot.store.alerts import Alert, AlertStatus, MonitorBook, monitor_book
from lnpilot.store.outbox import Notice

log = logging.getLogger(__name__)

#: Probes are kept this long: the node rules look back minutes to an hour.
PROBE_RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class CycleReport:
    """What one cycle did; ``failed`` maps a rule to why it could not be evaluated."""

    at: datetime
    evaluated: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)
    fired: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()
    notices: tuple[Notice, ...] = ()
    incidents_opened: tuple[int, ...] = ()
    actions: tuple[ActionOutcome, ...] = ()


def _notifiable(alert: Alert | None) -> bool:
    return alert is not None and alert.status is AlertStatus.FIRING and alert.suppressed is None


class Monitor:
    """The alert engine for the node with pubkey ``node_pubkey`` (as the collector stored
    it). Without ``node`` it only judges the store: no probes and no actions.
    ``collect_interval`` is the collector's schedule on the clock ``now`` is read from
    (see :class:`~lnpilot.monitor.checks.Context`)."""

    def __init__(
        self,
        store: Store,
        config: MonitorConfig,
        node_pubkey: str,
        node: NodeBackend | None = None,
        *,
        probe_timeout_s: float = 10.0,
        collect_interval: timedelta | None = None,
    ) -> None:
        self._store = store
        self._config = config
        self._pubkey = node_pubkey
        self._node = node
        self._probe_timeout_s = probe_timeout_s
        self._collect_interval = collect_interval

    async def run_once(self, now: datetime | None = None) -> CycleReport:
        now = now or datetime.now(UTC)
        async with self._store.read() as reader:
            node_id = await reader.node_id(self._pubkey)
        if node_id is None:
            log.info("node %s not in the store yet; nothing to judge", self._pubkey[:16])
            return CycleReport(now)
        if self._node is not None:
            probes = await probe_node(self._node, now, self._probe_timeout_s)
            async with monitor_book(self._store, write=True) as book:
                await book.record_probes(node_id, probes)
        observed, evaluated, failed = await self._evaluate(node_id, now)
        async with monitor_book(self._store, write=True) as book:
            report = await self._settle(book, node_id, observed, evaluated, now)
        for incident_id in report.incidents_opened:
            await self._explain(incident_id, now)
        actions: list[ActionOutcome] = []
        if self._node is not None:
            runner = ActionRunner(self._store, self._node, self._config.incidents)
            actions = await runner.run(now)
        return CycleReport(
            at=now,
            evaluated=tuple(sorted(evaluated)),
            failed=failed,
            fired=report.fired,
            resolved=report.resolved,
            notices=report.notices,
            incidents_opened=report.incidents_opened,
            actions=tuple(actions),
        )

    async def _explain(self, incident_id: int, now: datetime) -> None:
        """Record the likely causes of a new incident; a failure here is logged and leaves
        the incident (committed already) without them, never the cycle undone."""
        try:
            async with self._store.read() as reader, monitor_book(self._store) as book:
                incident = await book.incident(incident_id)
                if incident is None:
                    return
                causes, not_checked = await explain(reader, book, incident)
            async with monitor_book(self._store, write=True) as book:
                await book.add_timeline(incident_id, causes_entry(causes, not_checked, now))
        except Exception:
            log.exception("the causes of incident %d could not be gathered", incident_id)

    async def _evaluate(
        self, node_id: int, now: datetime
    ) -> tuple[list[Observation], set[str], dict[str, str]]:
        observed: list[Observation] = []
        evaluated: set[str] = set()
        failed: dict[str, str] = {}
        async with self._store.read() as reader, monitor_book(self._store) as book:
            ctx = Context(reader, book, node_id, now, self._collect_interval)
            for name, rule in self._config.enabled_rules().items():
                try:
                    findings = await CHECKS[rule.kind](ctx, rule)
                except Exception as exc:  # one broken rule must not silence the others
                    failed[name] = redact_text(f"{type(exc).__name__}: {exc}")
                    log.exception("rule %s could not be evaluated", name)
                    continue
                evaluated.add(name)
                for finding in findings:
                    effective = rule.effective(
                        scid=finding.labels.get("scid"), peer=finding.labels.get("peer")
                    )
                    if not effective.enabled:
                        continue
                    severity = finding.severity or effective.severity
                    labels = {
                        **effective.labels,
                        **finding.labels,
                        "alertname": name,
                        "node": self._pubkey,
                        "severity": severity.value,
                    }
                    observed.append(
                        Observation(
                            rule=name,
                            severity=severity,
                            labels=labels,
                            summary=finding.summary,
                            hold_s=effective.for_s,
                            value=finding.value,
                            details=finding.details,
                        )
                    )
        return observed, evaluated, failed

    async def _settle(
        self,
        book: MonitorBook,
        node_id: int,
        observed: list[Observation],
        evaluated: set[str],
        now: datetime,
    ) -> CycleReport:
        config = self._config
        before = {a.fingerprint: a for a in await book.open_alerts(node_id)}
        moved = advance(list(before.values()), observed, evaluated, now)
        silences = await book.silences(active_at=now)
        current = suppress(moved.current, silences, config.inhibit, now)
        saved = await book.save_alerts(node_id, current)
        await book.delete_alerts([a.id for a in moved.dropped if a.id is not None])

        opened = []
        for alert in saved:
            rule = config.rules.get(alert.rule)
            if (
                rule is not None
                and _notifiable(alert)
                and not _notifiable(before.get(alert.fingerprint))
                and alert.severity in config.incidents.open_for
            ):
                incident_id = await open_or_update(book, node_id, alert, rule.kind, now)
                if incident_id is not None:
                    opened.append(incident_id)
        for alert in moved.resolved:
            await note_resolved(book, node_id, alert, now)

        groups = await book.groups(node_id)
        notified = sorted({fp for g in groups.values() for fp in g.notified})
        episodes = await book.latest_episodes(node_id, notified)
        plan = plan_notices(
            groups, [a for a in saved if _notifiable(a)], episodes, config.grouping, now
        )
        incident_of = {
            i.fingerprint: i.id
            for i in await book.incidents(node_id=node_id, include_resolved=False)
        }
        notices = []
        for notice in plan.notices:
            ids = sorted(
                {incident_of[a.fingerprint] for a in notice.alerts if a.fingerprint in incident_of}
            )
            notice = Notice(
                notice.group_key, notice.group_labels, notice.alerts, notice.created_at, tuple(ids)
            )
            await book.outbox.enqueue(notice, node_id)
            notices.append(notice)
        await book.save_groups(node_id, plan.save)
        await book.drop_groups(node_id, plan.drop)
        await book.prune_resolved(now - timedelta(days=config.keep_resolved_days))
        await book.prune_probes(now - PROBE_RETENTION)
        fired = {a.fingerprint for a in moved.fired}
        return CycleReport(
            at=now,
            fired=tuple(a for a in saved if a.fingerprint in fired),
            resolved=tuple(moved.resolved),
            notices=tuple(notices),
            incidents_opened=tuple(opened),
        )
