"""The resolutions time series are kept at, their bucket arithmetic and their retention.

Buckets are aligned on the Unix epoch, so a daily bucket starts at midnight UTC and an hourly
one on the hour: the same instant always falls in the same bucket, whichever process rolls it
up, which is what lets rollups merge partial results from different runs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


class Resolution(enum.Enum):
    """A rollup level; the value names its tables (``channel_stats_5m``)."""

    FIVE_MINUTES = "5m"
    HOUR = "1h"
    DAY = "1d"

    @property
    def step(self) -> timedelta:
        return _STEPS[self]


_STEPS = {
    Resolution.FIVE_MINUTES: timedelta(minutes=5),
    Resolution.HOUR: timedelta(hours=1),
    Resolution.DAY: timedelta(days=1),
}

#: Finest first: the order rollups are built in and series pick from.
LEVELS = (Resolution.FIVE_MINUTES, Resolution.HOUR, Resolution.DAY)


def bucket_floor(at: datetime, resolution: Resolution) -> datetime:
    """Start of the bucket holding ``at`` (integer arithmetic: no float rounding at edges)."""
    step_us = resolution.step // _ONE_US
    elapsed_us = (at - EPOCH) // _ONE_US
    return EPOCH + (elapsed_us // step_us * step_us) * _ONE_US


def bucket_ceil(at: datetime, resolution: Resolution) -> datetime:
    """Start of the first bucket that begins at or after ``at``."""
    floor = bucket_floor(at, resolution)
    return floor if floor == at else floor + resolution.step


def epoch_ns(at: datetime) -> int:
    """``at`` as nanoseconds since the epoch, the unit LND stamps forwards with."""
    return (at - EPOCH) // _ONE_US * 1000


def time_from_ns(ns: int) -> datetime:
    """Nanoseconds since the epoch as a UTC datetime, to the microsecond."""
    return EPOCH + ns // 1000 * _ONE_US


@dataclass(frozen=True)
class Retention:
    """How long each level is kept; ``None`` keeps it forever.

    ``raw`` applies to channel snapshots. Forwards are the node's accounts and are kept
    forever unless ``forwards`` says otherwise; failed forwards are bulky (probes) and
    diagnostic, so they go after ``failed_forwards``. Raw rows are deleted only once rolled
    up, whatever their age. A coarser level may not be kept shorter than a finer one: it
    would throw away history while the finer detail of the same time survives. With
    ``archive_dir``, the raw rows are written there (compressed, per month) before they are
    deleted (:mod:`lnpilot.store.retention_archive`).
    """

    raw: timedelta = timedelta(days=7)
    five_minutes: timedelta | None = timedelta(days=35)
    hour: timedelta | None = timedelta(days=730)
    day: timedelta | None = None
    forwards: timedelta | None = None
    failed_forwards: timedelta | None = timedelta(days=35)
    archive_dir: Path | None = None

    def __post_init__(self) -> None:
        chain = [("raw", self.raw), *((r.name.lower(), self.of(r)) for r in LEVELS)]
        for name, kept in chain:
            if kept is not None and kept <= timedelta(0):
                raise ValueError(f"retention {name} must be positive or None, got {kept}")
        for (finer, finer_kept), (coarser, coarser_kept) in pairwise(chain):
            if finer_kept is None and coarser_kept is not None:
                raise ValueError(f"retention {coarser} is shorter than {finer} (kept forever)")
            if finer_kept is not None and coarser_kept is not None and coarser_kept < finer_kept:
                raise ValueError(
                    f"retention {coarser} ({coarser_kept}) is shorter than {finer} ({finer_kept})"
                )
        for name, kept in (("forwards", self.forwards), ("failed_forwards", self.failed_forwards)):
            if kept is not None and kept <= timedelta(0):
                raise ValueError(f"retention {name} must be positive or None, got {kept}")

    def of(self, resolution: Resolution) -> timedelta | None:
        return {
            Resolution.FIVE_MINUTES: self.five_minutes,
            Resolution.HOUR: self.hour,
            Resolution.DAY: self.day,
        }[resolution]

    def horizon(self, resolution: Resolution, now: datetime) -> datetime | None:
        """Start of the oldest bucket of ``resolution`` that retention cannot have deleted
        by ``now``; ``None`` when the level is kept forever."""
        kept = self.of(resolution)
        return None if kept is None else bucket_ceil(now - kept, resolution)
