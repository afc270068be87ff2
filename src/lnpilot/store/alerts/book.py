"""The alert engine's reads and writes: :class:`MonitorBook` on one connection, opened with
:func:`monitor_book`; a write book commits everything it did (alert states, the notices
they cause in the outbox, incidents) together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from lnpilot.base.domain import ChannelState, ClosedChannel
from lnpilot.store import convert
from lnpilot.store.alerts.labels import Matcher
from lnpilot.store.alerts.records import (
    ALERT_FIRING,
    ALERT_RESOLVED,
    ActionState,
    Alert,
    AlertStatus,
    GroupState,
    Horizon,
    Incident,
    IncidentAction,
    IncidentStatus,
    Probe,
    Silence,
    TimelineEntry,
)
from lnpilot.store.alerts.tables import (
    alert_groups,
    alerts,
    incident_actions,
    incident_events,
    incidents,
    monitor_probes,
    silences,
)
from lnpilot.store.database import insert_returning_id, reading, upsert, writing
from lnpilot.store.outbox import Outbox, Severity
from lnpilot.store.tables import channels

if TYPE_CHECKING:
    from lnpilot.store.store import Store


@asynccontextmanager
async def monitor_book(store: Store, *, write: bool = False) -> AsyncIterator[MonitorBook]:
    """A :class:`MonitorBook` on one transaction: a write book commits on exit (or rolls
    back if the block raises); a read book sees one snapshot."""
    opener = writing if write else reading
    async with opener(store.engine) as conn:
        yield MonitorBook(conn)


class MonitorBook:
    """The alert engine's reads and writes over one connection; its ``outbox`` shares it."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self.outbox = Outbox(conn)

    # alerts

    async def open_alerts(self, node_id: int) -> list[Alert]:
        """Pending and firing alerts of the node."""
        return await self._alerts(
            alerts.c.node_id == node_id, alerts.c.status != AlertStatus.RESOLVED.value
        )

    async def list_alerts(
        self, node_id: int | None = None, *, include_resolved: bool = False, limit: int = 500
    ) -> list[Alert]:
        """Alerts newest first; resolved ones only with ``include_resolved``."""
        conditions = []
        if node_id is not None:
            conditions.append(alerts.c.node_id == node_id)
        if not include_resolved:
            conditions.append(alerts.c.status != AlertStatus.RESOLVED.value)
        return await self._alerts(*conditions, newest_first=True, limit=limit)

    async def _alerts(
        self, *conditions: Any, newest_first: bool = False, limit: int | None = None
    ) -> list[Alert]:
        order = alerts.c.id.desc() if newest_first else alerts.c.id
        query = select(alerts).where(*conditions).order_by(order)
        if limit is not None:
            query = query.limit(limit)
        result = await self._conn.execute(query)
        return [_alert_from_row(row) for row in result.mappings()]

    async def alert_episode(self, alert_id: int) -> Alert | None:
        found = await self._alerts(alerts.c.id == alert_id)
        return found[0] if found else None

    async def latest_episodes(self, node_id: int, fingerprints: Sequence[str]) -> dict[str, Alert]:
        """The most recent episode of each fingerprint."""
        if not fingerprints:
            return {}
        found = await self._alerts(
            alerts.c.node_id == node_id, alerts.c.fingerprint.in_(list(fingerprints))
        )
        return {a.fingerprint: a for a in found}

    async def save_alerts(self, node_id: int, changed: Sequence[Alert]) -> list[Alert]:
        """Insert new episodes (``id`` None) and update the others; returns them with ids."""
        saved = []
        for alert in changed:
            row = _alert_row(node_id, alert)
            if alert.id is None:
                alert_id = await insert_returning_id(self._conn, alerts, row)
                saved.append(_with_id(alert, alert_id))
            else:
                await self._conn.execute(update(alerts).where(alerts.c.id == alert.id).values(row))
                saved.append(alert)
        return saved

    async def delete_alerts(self, alert_ids: Sequence[int]) -> None:
        """Forget episodes that never fired (a pending alert whose condition stopped)."""
        if alert_ids:
            await self._conn.execute(delete(alerts).where(alerts.c.id.in_(list(alert_ids))))

    async def prune_resolved(self, before: datetime) -> int:
        """Drop alert episodes resolved before ``before``; returns how many."""
        result = await self._conn.execute(
            delete(alerts).where(
                alerts.c.status == AlertStatus.RESOLVED.value, alerts.c.resolved_at < before
            )
        )
        return result.rowcount or 0

    # notification groups

    async def groups(self, node_id: int) -> dict[str, GroupState]:
        result = await self._conn.execute(
            select(alert_groups).where(alert_groups.c.node_id == node_id)
        )
        return {
            row["group_key"]: GroupState(
                group_key=row["group_key"],
                labels=dict(row["labels"]),
                active_since=row["active_since"],
                last_notified_at=row["last_notified_at"],
                notified=tuple(row["notified"]),
            )
            for row in result.mappings()
        }

    async def save_groups(self, node_id: int, states: Sequence[GroupState]) -> None:
        for state in states:
            values = {
                "node_id": node_id,
                "group_key": state.group_key,
                "labels": state.labels,
                "active_since": state.active_since,
                "last_notified_at": state.last_notified_at,
                "notified": list(state.notified),
            }
            stmt = upsert(self._conn, alert_groups).values(values)
            await self._conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[alert_groups.c.node_id, alert_groups.c.group_key],
                    set_={k: stmt.excluded[k] for k in values if k not in ("node_id", "group_key")},
                )
            )

    async def drop_groups(self, node_id: int, group_keys: Sequence[str]) -> None:
        if group_keys:
            await self._conn.execute(
                delete(alert_groups).where(
                    alert_groups.c.node_id == node_id,
                    alert_groups.c.group_key.in_(list(group_keys)),
                )
            )

    # silences

    async def add_silence(
        self,
        matchers: Sequence[Matcher],
        starts_at: datetime,
        ends_at: datetime,
        *,
        created_by: str,
        comment: str,
    ) -> Silence:
        if not matchers:
            raise ValueError("a silence needs at least one matcher (it would silence everything)")
        if ends_at <= starts_at:
            raise ValueError("a silence must end after it starts")
        silence_id = await insert_returning_id(
            self._conn,
            silences,
            dict(
                matchers=[[m.name, m.op, m.value] for m in matchers],
                starts_at=starts_at,
                ends_at=ends_at,
                created_by=created_by,
                comment=comment,
            ),
        )
        return Silence(silence_id, tuple(matchers), starts_at, ends_at, created_by, comment)

    async def silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        """All silences, or those in force at ``active_at``."""
        query = select(silences).order_by(silences.c.id)
        if active_at is not None:
            query = query.where(silences.c.starts_at <= active_at, silences.c.ends_at > active_at)
        result = await self._conn.execute(query)
        return [
            Silence(
                id=row["id"],
                matchers=tuple(Matcher(*m) for m in row["matchers"]),
                starts_at=row["starts_at"],
                ends_at=row["ends_at"],
                created_by=row["created_by"],
                comment=row["comment"],
            )
            for row in result.mappings()
        ]

    async def expire_silence(self, silence_id: int, now: datetime) -> bool:
        """End a silence now; False if there is no such silence in force."""
        result = await self._conn.execute(
            update(silences)
            .where(silences.c.id == silence_id, silences.c.ends_at > now)
            .values(ends_at=now)
        )
        return bool(result.rowcount)

    # probes

    async def record_probes(self, node_id: int, probes: Sequence[Probe]) -> None:
        if probes:
            await self._conn.execute(
                monitor_probes.insert(),
                [
                    {
                        "node_id": node_id,
                        "at": p.at,
                        "backend": p.backend,
                        "ok": p.ok,
                        "latency_ms": p.latency_ms,
                        "error": p.error,
                        "block_height": p.block_height,
                        "synced_to_chain": p.synced_to_chain,
                        "onchain_confirmed_sat": p.onchain_confirmed_sat,
                        "pending_htlcs": None if p.pending_htlcs is None else list(p.pending_htlcs),
                        "extension_advisories": (
                            None if p.extension_advisories is None else list(p.extension_advisories)
                        ),
                    }
                    for p in probes
                ],
            )

    async def probes(self, node_id: int, start: datetime, end: datetime) -> list[Probe]:
        """Probes in ``[start, end)``, oldest first."""
        result = await self._conn.execute(
            select(monitor_probes)
            .where(
                monitor_probes.c.node_id == node_id,
                monitor_probes.c.at >= start,
                monitor_probes.c.at < end,
            )
            .order_by(monitor_probes.c.at, monitor_probes.c.id)
        )
        return [
            Probe(
                at=row["at"],
                backend=row["backend"],
                ok=row["ok"],
                latency_ms=row["latency_ms"],
                error=row["error"],
                block_height=row["block_height"],
                synced_to_chain=row["synced_to_chain"],
                onchain_confirmed_sat=row["onchain_confirmed_sat"],
                pending_htlcs=None if row["pending_htlcs"] is None else tuple(row["pending_htlcs"]),
                extension_advisories=(
                    None
                    if row["extension_advisories"] is None
                    else tuple(row["extension_advisories"])
                ),
            )
            for row in result.mappings()
        ]

    async def prune_probes(self, before: datetime) -> None:
        await self._conn.execute(delete(monitor_probes).where(monitor_probes.c.at < before))

    async def closed_between(
        self, node_id: int, start: datetime, end: datetime
    ) -> list[tuple[ClosedChannel, datetime]]:
        """Channels first seen closed in ``[start, end)``, with that time."""
        result = await self._conn.execute(
            select(channels)
            .where(
                channels.c.node_id == node_id,
                channels.c.state == ChannelState.CLOSED.value,
                channels.c.closed_seen_at >= start,
                channels.c.closed_seen_at < end,
            )
            .order_by(channels.c.closed_seen_at, channels.c.id)
        )
        return [
            (convert.closed_channel_from_row(row), row["closed_seen_at"])
            for row in result.mappings()
        ]

    # incidents

    async def open_incident(
        self,
        node_id: int,
        *,
        at: datetime,
        title: str,
        severity: Severity,
        rule: str,
        fingerprint: str,
        labels: Mapping[str, str],
    ) -> int:
        return await insert_returning_id(
            self._conn,
            incidents,
            dict(
                node_id=node_id,
                opened_at=at,
                title=title,
                severity=severity.value,
                status=IncidentStatus.OPEN.value,
                rule=rule,
                fingerprint=fingerprint,
                labels=dict(labels),
            ),
        )

    async def unresolved_incident_for(self, node_id: int, fingerprint: str) -> Incident | None:
        found = await self.incidents(node_id=node_id, fingerprint=fingerprint)
        return next((i for i in found if i.status is not IncidentStatus.RESOLVED), None)

    async def incidents(
        self,
        *,
        node_id: int | None = None,
        include_resolved: bool = True,
        fingerprint: str | None = None,
    ) -> list[Incident]:
        """Incidents, newest first."""
        query = _incidents_query().order_by(incidents.c.id.desc())
        if node_id is not None:
            query = query.where(incidents.c.node_id == node_id)
        if fingerprint is not None:
            query = query.where(incidents.c.fingerprint == fingerprint)
        if not include_resolved:
            query = query.where(incidents.c.status != IncidentStatus.RESOLVED.value)
        result = await self._conn.execute(query)
        return [_incident_from_row(row) for row in result.mappings()]

    async def incident(self, incident_id: int) -> Incident | None:
        result = await self._conn.execute(_incidents_query().where(incidents.c.id == incident_id))
        row = result.mappings().one_or_none()
        return None if row is None else _incident_from_row(row)

    async def update_incident(self, incident_id: int, **values: object) -> None:
        """Set incident columns (status as an :class:`IncidentStatus`, times, texts)."""
        if "status" in values and isinstance(values["status"], IncidentStatus):
            values["status"] = values["status"].value
        await self._conn.execute(
            update(incidents).where(incidents.c.id == incident_id).values(**values)
        )

    async def add_timeline(self, incident_id: int, entry: TimelineEntry) -> None:
        await self._conn.execute(
            incident_events.insert().values(
                incident_id=incident_id,
                at=entry.at,
                kind=entry.kind,
                text=entry.text,
                author=entry.author,
                data=entry.data,
            )
        )

    async def timeline(self, incident_id: int) -> list[TimelineEntry]:
        result = await self._conn.execute(
            select(incident_events)
            .where(incident_events.c.incident_id == incident_id)
            .order_by(incident_events.c.at, incident_events.c.id)
        )
        return [
            TimelineEntry(
                at=row["at"],
                kind=row["kind"],
                text=row["text"],
                author=row["author"],
                data=dict(row["data"]),
            )
            for row in result.mappings()
        ]

    async def add_actions(
        self, incident_id: int, planned: Sequence[IncidentAction], at: datetime
    ) -> None:
        if planned:
            await self._conn.execute(
                incident_actions.insert(),
                [
                    {
                        "incident_id": incident_id,
                        "horizon": a.horizon.value,
                        "kind": a.kind,
                        "description": a.description,
                        "params": a.params,
                        "safe": a.safe,
                        "state": a.state.value,
                        "result": a.result,
                        "created_at": at,
                        "updated_at": at,
                    }
                    for a in planned
                ],
            )

    async def actions(
        self, incident_id: int | None = None, *, states: Sequence[ActionState] | None = None
    ) -> list[IncidentAction]:
        """Actions of one incident (or of all), in plan order."""
        query = select(incident_actions).order_by(incident_actions.c.id)
        if incident_id is not None:
            query = query.where(incident_actions.c.incident_id == incident_id)
        if states is not None:
            query = query.where(incident_actions.c.state.in_([s.value for s in states]))
        result = await self._conn.execute(query)
        return [
            IncidentAction(
                horizon=Horizon(row["horizon"]),
                kind=row["kind"],
                description=row["description"],
                safe=row["safe"],
                params=dict(row["params"]),
                state=ActionState(row["state"]),
                result=row["result"],
                id=row["id"],
                incident_id=row["incident_id"],
            )
            for row in result.mappings()
        ]

    async def set_action_state(
        self, action_id: int, state: ActionState, at: datetime, result: str | None = None
    ) -> None:
        await self._conn.execute(
            update(incident_actions)
            .where(incident_actions.c.id == action_id)
            .values(state=state.value, updated_at=at, result=result)
        )

    async def actions_run_since(self, since: datetime) -> int:
        """Actions the runner carried out (done or failed) since ``since``: the daily budget."""
        result = await self._conn.execute(
            select(func.count())
            .select_from(incident_actions)
            .where(
                incident_actions.c.state.in_([ActionState.DONE.value, ActionState.FAILED.value]),
                incident_actions.c.updated_at >= since,
            )
        )
        return int(result.scalar_one())


def _alert_row(node_id: int, alert: Alert) -> dict[str, Any]:
    return {
        "node_id": node_id,
        "fingerprint": alert.fingerprint,
        "rule": alert.rule,
        "severity": alert.severity.value,
        "status": alert.status.value,
        "labels": alert.labels,
        "summary": alert.summary,
        "value": alert.value,
        "details": alert.details,
        "active_since": alert.active_since,
        "last_seen_at": alert.last_seen_at,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "suppressed": alert.suppressed,
    }


def _alert_from_row(row: RowMapping) -> Alert:
    return Alert(
        id=row["id"],
        fingerprint=row["fingerprint"],
        rule=row["rule"],
        severity=Severity(row["severity"]),
        status=AlertStatus(row["status"]),
        labels=dict(row["labels"]),
        summary=row["summary"],
        value=row["value"],
        details=dict(row["details"]),
        active_since=row["active_since"],
        last_seen_at=row["last_seen_at"],
        fired_at=row["fired_at"],
        resolved_at=row["resolved_at"],
        suppressed=row["suppressed"],
    )


def _with_id(alert: Alert, alert_id: int) -> Alert:
    return replace(alert, id=alert_id)


def _incidents_query() -> Select[Any]:
    """Incidents with the kind and time of their alert's latest timeline entry."""
    latest = (
        select(
            incident_events.c.incident_id,
            func.max(incident_events.c.id).label("entry_id"),
        )
        .where(incident_events.c.kind.in_([ALERT_FIRING, ALERT_RESOLVED]))
        .group_by(incident_events.c.incident_id)
        .subquery()
    )
    entry = incident_events.alias("alert_entry")
    return (
        select(
            incidents,
            entry.c.kind.label("alert_entry_kind"),
            entry.c.at.label("alert_entry_at"),
        )
        .outerjoin(latest, latest.c.incident_id == incidents.c.id)
        .outerjoin(entry, entry.c.id == latest.c.entry_id)
    )


def _incident_from_row(row: RowMapping) -> Incident:
    resolved = row["alert_entry_kind"] == ALERT_RESOLVED
    return Incident(
        id=row["id"],
        node_id=row["node_id"],
        opened_at=row["opened_at"],
        title=row["title"],
        severity=Severity(row["severity"]),
        status=IncidentStatus(row["status"]),
        rule=row["rule"],
        fingerprint=row["fingerprint"],
        labels=dict(row["labels"]),
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        resolved_at=row["resolved_at"],
        cause=row["cause"],
        resolution=row["resolution"],
        alert_resolved_at=row["alert_entry_at"] if resolved else None,
    )
