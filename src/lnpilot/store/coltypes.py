"""Column types that store the same values the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

#: Surrogate keys: 64-bit on PostgreSQL; on SQLite only ``INTEGER`` is an alias of the rowid
#: (and autoincrements), ``BIGINT`` is not, though both hold 64 bits there.
Id = BigInteger().with_variant(Integer(), "sqlite")

#: Event payloads; JSONB on PostgreSQL so they can be indexed and queried there.
Json = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant, in and out.

    PostgreSQL keeps ``timestamptz``. SQLite has no time type: SQLAlchemy writes a fixed-width
    text that sorts like the instant, without offset, so values are normalised to UTC before
    writing and tagged UTC when read. A naive datetime is refused rather than guessed at: in
    lnpilot it is always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store takes timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: The largest id a store row can have: ids are signed 64-bit on SQLite and PostgreSQL.
MAX_STORE_ID = 2**63 - 1


def is_store_id(value: int) -> bool:
    """Whether a row could have this id: a larger number makes the database driver fail
    rather than miss, so the faces check it before asking (the API answers 422, the
    dashboard shows its missing page)."""
    return 1 <= value <= MAX_STORE_ID
