"""Bucket arithmetic on the epoch grid: exact at the edges, the same in any timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from lnpilot.store.levels import LEVELS, Resolution, bucket_ceil, bucket_floor, epoch_ns

instants = st.datetimes(
    min_value=datetime(2009, 1, 3), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(at=instants)
def test_a_bucket_holds_its_instants(at: datetime) -> None:
    for resolution in LEVELS:
        start = bucket_floor(at, resolution)
        assert start <= at < start + resolution.step
        assert bucket_floor(start, resolution) == start
        assert bucket_ceil(at, resolution) in (start, start + resolution.step)
        assert bucket_ceil(at, resolution) >= at


def test_days_start_at_midnight_utc_whatever_the_input_zone() -> None:
    paris_morning = datetime(2025, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=1)))
    assert bucket_floor(paris_morning, Resolution.DAY) == datetime(2025, 3, 1, tzinfo=UTC)
    assert bucket_floor(paris_morning, Resolution.HOUR) == datetime(2025, 3, 1, 0, tzinfo=UTC)


def test_epoch_ns_is_exact_to_the_microsecond() -> None:
    assert epoch_ns(datetime(2025, 3, 1, 0, 0, 0, 123456, tzinfo=UTC)) == 1_740_787_200_123_456_000
