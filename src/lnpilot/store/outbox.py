"""The notification outbox: notices the alert engine decided to send, and their deliveries.

The alert engine writes a :class:`Notice` in the same transaction as the alert state change
that causes it; the notifier later routes it (one delivery per receiver) and delivers it.
Each step is its own commit, so:

- a notice is never lost: it exists from the moment its cause is committed, and a delivery
  stays ``pending`` until a receiver accepted it, however many attempts that takes;
- a delivered notice is never sent again: ``delivered`` is committed right after the
  receiver's acceptance and a delivered row is never claimed again. The only window left is
  a crash between the receiver's "accepted" and that commit; the delivery is then retried
  once its lease ends, carrying the same delivery id (webhook header, email Message-ID), so
  a receiver can recognise it (see ``docs/alerts.md``).

A delivery is claimed by a conditional update on its attempt counter, so two notifier
processes never send the same attempt.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from lnpilot.store.coltypes import Id, Json, UtcDateTime
from lnpilot.store.database import insert_returning_id
from lnpilot.store.tables import metadata


class Severity(enum.StrEnum):
    """How urgent an alert (and so a notice) is; ``critical`` alerts open incidents."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # to be attempted at next_attempt_at
    SENDING = "sending"  # claimed by a notifier until lease_until
    DELIVERED = "delivered"


@dataclass(frozen=True)
class NoticeAlert:
    """One alert as a notice shows it; ``status`` is ``firing`` or ``resolved``."""

    fingerprint: str
    rule: str
    severity: Severity
    status: str
    summary: str
    labels: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None = None
    value: float | None = None


@dataclass(frozen=True)
class NoticeFile:
    """A file a notice carries (a sealed channel backup): email attaches it, a webhook
    gets it base64-encoded in its JSON; ``title`` and ``text`` stand for the alerts."""

    filename: str
    content_type: str
    content: bytes
    title: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "content_base64": base64.b64encode(self.content).decode("ascii"),
            "title": self.title,
            "text": self.text,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NoticeFile:
        return cls(
            filename=data["filename"],
            content_type=data["content_type"],
            content=base64.b64decode(data["content_base64"]),
            title=data["title"],
            text=data["text"],
        )


@dataclass(frozen=True)
class Notice:
    """One message about one group of alerts: what fires now and what just resolved; or,
    with ``file``, a file to hand over (no alerts then, routed by its group labels)."""

    group_key: str
    group_labels: dict[str, str]
    alerts: tuple[NoticeAlert, ...]
    created_at: datetime
    incident_ids: tuple[int, ...] = ()
    test: bool = False
    file: NoticeFile | None = None

    @property
    def firing(self) -> tuple[NoticeAlert, ...]:
        return tuple(a for a in self.alerts if a.status == "firing")

    @property
    def resolved(self) -> tuple[NoticeAlert, ...]:
        return tuple(a for a in self.alerts if a.status == "resolved")

    @property
    def status(self) -> str:
        if self.file is not None:
            return "file"
        return "firing" if self.firing else "resolved"

    @property
    def severity(self) -> Severity:
        """The highest severity among firing alerts (among all when none fires)."""
        pool = self.firing or self.alerts
        return max((a.severity for a in pool), key=lambda s: s.rank, default=Severity.INFO)

    @property
    def common_labels(self) -> dict[str, str]:
        """Labels every alert of the notice has with the same value."""
        if not self.alerts:
            return dict(self.group_labels)
        first, *rest = (a.labels for a in self.alerts)
        return {k: v for k, v in first.items() if all(o.get(k) == v for o in rest)}

    def to_json(self) -> dict[str, Any]:
        extra = {"file": self.file.to_json()} if self.file is not None else {}
        return {
            **extra,
            "group_key": self.group_key,
            "group_labels": self.group_labels,
            "created_at": self.created_at.isoformat(),
            "incident_ids": list(self.incident_ids),
            "test": self.test,
            "alerts": [
                {
                    "fingerprint": a.fingerprint,
                    "rule": a.rule,
                    "severity": a.severity.value,
                    "status": a.status,
                    "summary": a.summary,
                    "labels": a.labels,
                    "starts_at": a.starts_at.isoformat(),
                    "ends_at": a.ends_at.isoformat() if a.ends_at else None,
                    "value": a.value,
                }
                for a in self.alerts
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notice:
        return cls(
            group_key=data["group_key"],
            group_labels=dict(data["group_labels"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            incident_ids=tuple(data["incident_ids"]),
            test=data["test"],
            file=NoticeFile.from_json(data["file"]) if data.get("file") else None,
            alerts=tuple(
                NoticeAlert(
                    fingerprint=a["fingerprint"],
                    rule=a["rule"],
                    severity=Severity(a["severity"]),
                    status=a["status"],
                    summary=a["summary"],
                    labels=dict(a["labels"]),
                    starts_at=datetime.fromisoformat(a["starts_at"]),
                    ends_at=datetime.fromisoformat(a["ends_at"]) if a["ends_at"] else None,
                    value=a["value"],
                )
                for a in data["alerts"]
            ),
        )


@dataclass(frozen=True)
class Delivery:
    """One notice to one receiver. ``attempts`` counts claims, crashed ones included."""

    id: int
    notification_id: int
    route: str
    receiver: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    lease_until: datetime | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    notice: Notice | None = field(default=None, compare=False)


notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True),
    Column("node_id", Integer, ForeignKey("nodes.id")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("group_key", String(512), nullable=False),
    Column("status", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("payload", Json, nullable=False),
    Column("dispatched_at", UtcDateTime),
    Index(None, "dispatched_at"),
)

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("notification_id", Id, ForeignKey("notifications.id"), nullable=False),
    Column("route", String(64), nullable=False),
    Column("receiver", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_error", Text),
    Column("delivered_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("notification_id", "receiver"),
    Index(None, "state", "next_attempt_at"),
    Index(None, "route", "delivered_at"),
)


class Outbox:
    """Outbox reads and writes over one connection (a transaction the caller opened)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def enqueue(self, notice: Notice, node_id: int | None = None) -> int:
        return await insert_returning_id(
            self._conn,
            notifications,
            dict(
                node_id=node_id,
                created_at=notice.created_at,
                group_key=notice.group_key,
                status=notice.status,
                severity=notice.severity.value,
                payload=notice.to_json(),
            ),
        )

    async def undispatched(self, limit: int = 100) -> list[tuple[int, Notice]]:
        """Notices not routed yet, oldest first."""
        result = await self._conn.execute(
            select(notifications.c.id, notifications.c.payload)
            .where(notifications.c.dispatched_at.is_(None))
            .order_by(notifications.c.id)
            .limit(limit)
        )
        return [(row.id, Notice.from_json(row.payload)) for row in result]

    async def dispatch(
        self, notification_id: int, targets: Sequence[tuple[str, str]], at: datetime
    ) -> None:
        """Create one delivery per ``(route, receiver)`` (a receiver once, for its first
        route) and mark the notice routed, even when nothing matched."""
        seen: dict[str, str] = {}
        for route, receiver in targets:
            seen.setdefault(receiver, route)
        if seen:
            await self._conn.execute(
                notification_deliveries.insert(),
                [
                    {
                        "notification_id": notification_id,
                        "route": route,
                        "receiver": receiver,
                        "state": DeliveryState.PENDING.value,
                        "attempts": 0,
                        "next_attempt_at": at,
                        "created_at": at,
                    }
                    for receiver, route in seen.items()
                ],
            )
        await self._conn.execute(
            update(notifications)
            .where(notifications.c.id == notification_id)
            .values(dispatched_at=at)
        )

    async def due(self, now: datetime, limit: int = 100) -> list[Delivery]:
        """Deliveries to attempt now: pending and due, or claimed by a notifier whose lease
        ran out (it crashed or hung mid-attempt). Oldest first, with their notices."""
        d = notification_deliveries
        result = await self._conn.execute(
            select(d, notifications.c.payload)
            .join(notifications, notifications.c.id == d.c.notification_id)
            .where(
                or_(
                    (d.c.state == DeliveryState.PENDING.value) & (d.c.next_attempt_at <= now),
                    (d.c.state == DeliveryState.SENDING.value) & (d.c.lease_until <= now),
                )
            )
            .order_by(d.c.next_attempt_at, d.c.id)
            .limit(limit)
        )
        return [_delivery(row, Notice.from_json(row["payload"])) for row in result.mappings()]

    async def claim(self, delivery: Delivery, now: datetime, lease_until: datetime) -> bool:
        """Take ``delivery`` for one attempt; False if another notifier took it first."""
        d = notification_deliveries
        result = await self._conn.execute(
            update(d)
            .where(
                d.c.id == delivery.id,
                d.c.attempts == delivery.attempts,
                d.c.state != DeliveryState.DELIVERED.value,
            )
            .values(
                state=DeliveryState.SENDING.value,
                attempts=delivery.attempts + 1,
                lease_until=lease_until,
            )
        )
        return bool(result.rowcount)

    async def mark_delivered(self, delivery_id: int, attempt: int, at: datetime) -> None:
        """Record the receiver's acceptance of attempt number ``attempt``."""
        d = notification_deliveries
        await self._conn.execute(
            update(d)
            .where(d.c.id == delivery_id, d.c.attempts == attempt)
            .values(
                state=DeliveryState.DELIVERED.value,
                delivered_at=at,
                lease_until=None,
                last_error=None,
            )
        )

    async def mark_failed(
        self, delivery_id: int, attempt: int, error: str, retry_at: datetime
    ) -> None:
        """Attempt ``attempt`` failed: back to pending, to be tried again at ``retry_at``."""
        d = notification_deliveries
        await self._conn.execute(
            update(d)
            .where(
                d.c.id == delivery_id,
                d.c.attempts == attempt,
                d.c.state == DeliveryState.SENDING.value,
            )
            .values(
                state=DeliveryState.PENDING.value,
                next_attempt_at=retry_at,
                lease_until=None,
                last_error=error,
            )
        )

    async def postpone(self, delivery_ids: Sequence[int], until: datetime) -> None:
        """Move pending deliveries later without counting an attempt (rate limits)."""
        if delivery_ids:
            d = notification_deliveries
            await self._conn.execute(
                update(d)
                .where(d.c.id.in_(list(delivery_ids)), d.c.state == DeliveryState.PENDING.value)
                .values(next_attempt_at=until)
            )

    async def delivered_after(self, route: str, after: datetime) -> list[datetime]:
        """When the route's deliveries accepted after ``after`` were, oldest first."""
        d = notification_deliveries
        result = await self._conn.execute(
            select(d.c.delivered_at)
            .where(d.c.route == route, d.c.delivered_at > after)
            .order_by(d.c.delivered_at)
        )
        return [at for at in result.scalars() if at is not None]

    async def deliveries(
        self, *, states: Sequence[DeliveryState] | None = None, limit: int = 200
    ) -> list[Delivery]:
        """Deliveries newest first, for people and tests."""
        d = notification_deliveries
        query = (
            select(d, notifications.c.payload)
            .join(notifications, notifications.c.id == d.c.notification_id)
            .order_by(d.c.id.desc())
            .limit(limit)
        )
        if states is not None:
            query = query.where(d.c.state.in_([s.value for s in states]))
        result = await self._conn.execute(query)
        return [_delivery(row, Notice.from_json(row["payload"])) for row in result.mappings()]

    async def counts(self) -> dict[str, int]:
        """Deliveries per state, and notices not routed yet (``undispatched``)."""
        d = notification_deliveries
        result = await self._conn.execute(select(d.c.state, func.count()).group_by(d.c.state))
        counts = {state.value: 0 for state in DeliveryState}
        counts.update({row[0]: int(row[1]) for row in result})
        waiting = await self._conn.execute(
            select(func.count())
            .select_from(notifications)
            .where(notifications.c.dispatched_at.is_(None))
        )
        counts["undispatched"] = int(waiting.scalar_one())
        return counts


def _delivery(row: RowMapping, notice: Notice) -> Delivery:
    return Delivery(
        id=row["id"],
        notification_id=row["notification_id"],
        route=row["route"],
        receiver=row["receiver"],
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        lease_until=row["lease_until"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
        notice=notice,
    )
