"""The audit log: every change made through the REST API, who made it, and how it ended.

One row per write request, failed ones included (a refused rollback is as telling as a
done one): the token's id and name, the action (``fees.apply``), its target, the outcome
and the request's validated parameters. Secrets never reach it: the API does not accept
any in a write, and the token itself is referred to by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, RowMapping, String, Table, Text, select

from lnpilot.store.coltypes import Id, Json, UtcDateTime
from lnpilot.store.database import insert_returning_id
from lnpilot.store.reads import StoreReader
from lnpilot.store.records import JsonValue
from lnpilot.store.tables import metadata
from lnpilot.store.tokens import NAME_MAX
from lnpilot.store.transaction import StoreTransaction

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("token_id", Id, ForeignKey("api_tokens.id")),
    Column("actor", String(NAME_MAX), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(128)),
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
    Column("detail", Json, nullable=False),
    Index(None, "at"),
)


@dataclass(frozen=True)
class AuditEntry:
    """One audited write; ``outcome`` is ``ok``, ``refused`` (4xx) or ``failed``."""

    at: datetime
    actor: str
    action: str
    outcome: str
    token_id: int | None = None
    target: str | None = None
    error: str | None = None
    detail: dict[str, JsonValue] = field(default_factory=dict)
    id: int | None = None


async def record(tx: StoreTransaction, entry: AuditEntry) -> int:
    return await insert_returning_id(
        tx.connection,
        audit_log,
        dict(
            at=entry.at,
            token_id=entry.token_id,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            outcome=entry.outcome,
            error=entry.error,
            detail=entry.detail,
        ),
    )


async def entries(
    reader: StoreReader, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """The latest entries, newest first; ``before_id`` pages further back."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    result = await reader.connection.execute(query)
    return [_entry(row) for row in result.mappings()]


def _entry(row: RowMapping) -> AuditEntry:
    return AuditEntry(
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        outcome=row["outcome"],
        token_id=row["token_id"],
        target=row["target"],
        error=row["error"],
        detail=row["detail"],
        id=row["id"],
    )
