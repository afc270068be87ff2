"""API tokens: who may call the REST API, with which scope. Only hashes are stored.

A token is ``lnp_`` and 43 URL-safe characters (256 random bits), shown once when created.
The store keeps its SHA-256: with that much entropy a fast hash is as safe as a slow one
(nothing to brute-force), and it lets a request's token be found by an indexed equality
lookup instead of trying every stored hash. A database leak therefore gives no usable
token. Revoked tokens stay, so the audit log's references keep their names.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, RowMapping, String, Table, select, update

from lnpilot.store.coltypes import Id, UtcDateTime
from lnpilot.store.database import insert_returning_id
from lnpilot.store.reads import StoreReader
from lnpilot.store.tables import metadata
from lnpilot.store.transaction import StoreTransaction

TOKEN_PREFIX = "lnp_"  # noqa: S105 (a marker, not a secret)
NAME_MAX = 64

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(NAME_MAX), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)


class Scope(enum.StrEnum):
    """``read`` sees everything; ``admin`` may also change things (every change is audited)."""

    READ = "read"
    ADMIN = "admin"

    def allows(self, needed: Scope) -> bool:
        return self is Scope.ADMIN or needed is Scope.READ


@dataclass(frozen=True)
class ApiToken:
    """A token as stored: never the secret itself."""

    id: int
    name: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(
    tx: StoreTransaction, name: str, scope: Scope, now: datetime
) -> tuple[ApiToken, str]:
    """A new token: its stored record, and the secret to hand to its user (only now)."""
    if not 0 < len(name) <= NAME_MAX:
        raise ValueError(f"a token name has 1 to {NAME_MAX} characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = await insert_returning_id(
        tx.connection,
        api_tokens,
        dict(name=name, scope=scope.value, token_hash=hash_token(secret), created_at=now),
    )
    return ApiToken(token_id, name, scope, now), secret


async def find_token(reader: StoreReader, token: str) -> ApiToken | None:
    """The unrevoked token with this secret, if any."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    result = await reader.connection.execute(
        select(api_tokens).where(
            api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None)
        )
    )
    row = result.mappings().one_or_none()
    return _token(row) if row is not None else None


async def list_tokens(reader: StoreReader) -> list[ApiToken]:
    result = await reader.connection.execute(select(api_tokens).order_by(api_tokens.c.id))
    return [_token(row) for row in result.mappings()]


async def revoke_token(tx: StoreTransaction, token_id: int, now: datetime) -> bool:
    """Revoke a token now; False when there is no such unrevoked token."""
    result = await tx.connection.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


def _token(row: RowMapping) -> ApiToken:
    return ApiToken(
        id=row["id"],
        name=row["name"],
        scope=Scope(row["scope"]),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )
