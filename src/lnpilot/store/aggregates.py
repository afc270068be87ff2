"""The rollup columns and how each one merges, in Python and in SQL alike.

Every rollup column is a mergeable aggregate: a sum, a minimum, a maximum, or the value of
the latest sample (``last``, decided by ``last_at``). Merging two partial aggregates of the
same bucket gives the aggregate of all their samples, in any order and any grouping. That is
what makes rollups incremental (only the new raw rows are read, then merged into the stored
buckets), lets raw rows be deleted once rolled up, and builds the hour from the five minutes
and the day from the hour. Averages are not stored: they are ``sum / samples``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, case
from sqlalchemy.sql.base import ReadOnlyColumnCollection

Value = int | datetime | None
Row = dict[str, Value]


class Kind(enum.Enum):
    SUM = "sum"
    MIN = "min"
    MAX = "max"
    LAST = "last"  # value of the sample with the greatest last_at


#: The instant of the latest sample merged in; decides every LAST column.
LAST_AT = "last_at"

#: Per channel and bucket, from channel snapshots.
STATS: Mapping[str, Kind] = {
    "samples": Kind.SUM,
    "active_samples": Kind.SUM,
    "local_balance_min_msat": Kind.MIN,
    "local_balance_max_msat": Kind.MAX,
    "local_balance_sum_msat": Kind.SUM,
    "local_balance_last_msat": Kind.LAST,
    "remote_balance_min_msat": Kind.MIN,
    "remote_balance_max_msat": Kind.MAX,
    "remote_balance_sum_msat": Kind.SUM,
    "remote_balance_last_msat": Kind.LAST,
    "capacity_sat": Kind.LAST,
    "pending_htlcs_max": Kind.MAX,
    "local_base_fee_msat": Kind.LAST,
    "local_fee_rate_ppm": Kind.LAST,
    "local_inbound_fee_rate_ppm": Kind.LAST,
    "remote_base_fee_msat": Kind.LAST,
    "remote_fee_rate_ppm": Kind.LAST,
    "remote_inbound_fee_rate_ppm": Kind.LAST,
    LAST_AT: Kind.MAX,
}

#: Per channel and bucket, from forwards (``in`` = entered through the channel, ``out`` = left
#: through it; a forward's fee counts on both sides) and failed forwards.
FLOWS: Mapping[str, Kind] = {
    "forwards_in": Kind.SUM,
    "forwards_out": Kind.SUM,
    "volume_in_msat": Kind.SUM,
    "volume_out_msat": Kind.SUM,
    "fee_in_msat": Kind.SUM,
    "fee_out_msat": Kind.SUM,
    "failed_in": Kind.SUM,
    "failed_out": Kind.SUM,
}

#: Policy columns: NULL when the backend does not know the value (LNbits shows no inbound fee).
NULLABLE = frozenset(
    {
        "local_base_fee_msat",
        "local_fee_rate_ppm",
        "local_inbound_fee_rate_ppm",
        "remote_base_fee_msat",
        "remote_fee_rate_ppm",
        "remote_inbound_fee_rate_ppm",
    }
)


def merge_into(into: Row, new: Mapping[str, Value], kinds: Mapping[str, Kind]) -> None:
    """Fold the partial aggregate ``new`` into ``into`` (same bucket), in place."""
    newer = LAST_AT in kinds and _ge(new[LAST_AT], into[LAST_AT])
    for name, kind in kinds.items():
        old, add = into[name], new[name]
        if kind is Kind.SUM:
            assert isinstance(old, int) and isinstance(add, int)
            into[name] = old + add
        elif kind is Kind.LAST:
            if newer:
                into[name] = add
        elif kind is Kind.MIN:
            if _lt(add, old):
                into[name] = add
        elif _lt(old, add):
            into[name] = add


def merge_on_conflict(
    table: Table, excluded: ReadOnlyColumnCollection[str, Any], kinds: Mapping[str, Kind]
) -> dict[str, ColumnElement[Any]]:
    """The ``SET`` clause of an upsert that merges the incoming row (``excluded``) into the
    stored one.

    Every expression reads the stored row's values before the update (SQL semantics), so
    LAST columns all compare against the old ``last_at``.
    """
    newer = excluded[LAST_AT] >= table.c[LAST_AT] if LAST_AT in kinds else None
    clause: dict[str, ColumnElement[Any]] = {}
    for name, kind in kinds.items():
        old, add = table.c[name], excluded[name]
        if kind is Kind.SUM:
            clause[name] = old + add
        elif kind is Kind.LAST:
            assert newer is not None
            clause[name] = case((newer, add), else_=old)
        elif kind is Kind.MIN:
            clause[name] = case((add < old, add), else_=old)
        else:
            clause[name] = case((add > old, add), else_=old)
    return clause


def _lt(a: Value, b: Value) -> bool:
    assert a is not None and b is not None
    return a < b  # type: ignore[operator]


def _ge(a: Value, b: Value) -> bool:
    assert a is not None and b is not None
    return a >= b  # type: ignore[operator]
