"""Chart data for the pages: inline SVG sparklines, and the payloads ``charts.js`` draws.

Sparklines are drawn on the server as SVG paths: a channel table may have hundreds of rows,
and a path per row costs nothing in the browser, needs no script and prints as it shows.
The larger time-series charts need a cursor, a legend and markers, so they are drawn in the
browser by the vendored uPlot from a JSON payload the page embeds (``static/charts.js``
reads it); the payload is plain data, so pages carry no inline script and the dashboard
can send a Content-Security-Policy that allows only its own files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from lnpilot.base.flow import Flow
from lnpilot.store import ChannelSeries, Direction, PolicyRecord
from lnpilot.web.views import PolicyChange, Window

SPARK_WIDTH = 120
SPARK_HEIGHT = 28
_SPARK_PAD = 2.0

#: Series colours, shared with the CSS legend swatches (``dashboard.css``).
COLORS = {
    "local": "#2a9d8f",
    "remote": "#e9c46a",
    "out": "#e76f51",
    "in": "#457b9d",
    "fees": "#8e44ad",
    "forwards": "#457b9d",
    "marker": "#6b7378",
    "ours": "#264653",
    "theirs": "#d62828",
}


def spark_path(values: Sequence[float], max_value: float) -> str:
    """An SVG path through ``values`` spread over the sparkline's width, scaled so that
    ``max_value`` touches the top (shared by the lines of one sparkline)."""
    if len(values) < 2:
        return ""
    inner = SPARK_HEIGHT - 2 * _SPARK_PAD
    step = SPARK_WIDTH / (len(values) - 1)
    points = []
    for n, value in enumerate(values):
        y = SPARK_HEIGHT - _SPARK_PAD - (inner * value / max_value if max_value > 0 else 0.0)
        points.append(f"{n * step:.1f},{y:.1f}")
    return "M" + " L".join(points)


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float | None]
    color: str
    kind: Literal["line", "bars", "step"] = "line"
    scale: Literal["y", "y2"] = "y"


@dataclass(frozen=True)
class Marker:
    """A dashed vertical line at ``t`` (unix seconds); the page's table says what it was."""

    t: float


@dataclass(frozen=True)
class Chart:
    """One chart: ``x`` the starts of buckets of ``step_s`` seconds (unix seconds), series
    of the same length, vertical markers."""

    id: str
    title: str
    unit: str
    x: list[float]
    step_s: float
    series: list[Series]
    markers: list[Marker] = field(default_factory=list)
    unit2: str | None = None

    def payload(self) -> dict[str, object]:
        """What ``charts.js`` reads (``data-chart`` JSON)."""
        return {
            "title": self.title,
            "unit": self.unit,
            "unit2": self.unit2,
            "x": self.x,
            "step": self.step_s,
            "series": [
                {
                    "label": s.label,
                    "values": s.values,
                    "color": s.color,
                    "kind": s.kind,
                    "scale": s.scale,
                }
                for s in self.series
            ],
            "markers": [{"t": m.t} for m in self.markers],
            "marker_color": COLORS["marker"],
        }

    @property
    def has_data(self) -> bool:
        return len(self.x) >= 2


def _ts(at: datetime) -> float:
    return at.timestamp()


def overview_chart(days: Sequence[Window]) -> Chart:
    """Forwards per day (bars) and fees earned per day in sat (steps, right axis)."""
    return Chart(
        id="chart-days",
        title="Forwards and fees per day (UTC)",
        unit="forwards",
        unit2="sat",
        x=[_ts(d.start) for d in days],
        step_s=86_400,
        series=[
            Series("forwards", [float(d.forwards) for d in days], COLORS["forwards"], "bars"),
            Series(
                "fees earned (sat)",
                [d.fees_earned_msat / 1000 for d in days],
                COLORS["fees"],
                "step",
                "y2",
            ),
        ],
    )


def rates_in_effect(
    policies: Sequence[PolicyRecord], direction: Direction, x: Sequence[float], step_s: float
) -> list[float | None]:
    """The fee rate (ppm) one side had in effect at the end of each bucket starting at
    ``x``: its last policy record up to then (``policies`` oldest first), None before the
    first. A step chart of these draws each change where it happened, within a bucket."""
    mine = [(r.at.timestamp(), r.policy.fee_rate_ppm) for r in policies if r.direction is direction]
    found: list[float | None] = []
    n, current = 0, None
    for start in x:
        while n < len(mine) and mine[n][0] < start + step_s:
            current = float(mine[n][1])
            n += 1
        found.append(current)
    return found


def channel_charts(
    series: ChannelSeries,
    changes: Sequence[PolicyChange],
    policies: Sequence[PolicyRecord] = (),
) -> list[Chart]:
    """Balance, flow and fees of one channel, our policy changes marked on each, and both
    sides' fee rates over the range (from the store's policy history)."""
    points = series.points
    x = [_ts(p.bucket_start) for p in points]
    markers = [Marker(_ts(c.record.at)) for c in changes]
    step = series.resolution.value
    step_s = series.resolution.step.total_seconds()

    def balance(pick: str) -> list[float | None]:
        return [None if p.balance is None else getattr(p.balance, pick) / 1000 for p in points]

    return [
        Chart(
            "chart-balance",
            "Balance",
            "sat",
            x,
            step_s,
            [
                Series("local (sat)", balance("local_balance_last_msat"), COLORS["local"]),
                Series("remote (sat)", balance("remote_balance_last_msat"), COLORS["remote"]),
            ],
            markers,
        ),
        Chart(
            "chart-flow",
            f"Flow per {step}",
            "sat",
            x,
            step_s,
            [
                Series(
                    f"{Flow.OUT} (sat)",
                    [p.flow.volume_out_msat / 1000 for p in points],
                    COLORS["out"],
                    "step",
                ),
                Series(
                    f"{Flow.IN} (sat)",
                    [p.flow.volume_in_msat / 1000 for p in points],
                    COLORS["in"],
                    "step",
                ),
            ],
            markers,
        ),
        Chart(
            "chart-fees",
            f"Fees earned per {step}",
            "sat",
            x,
            step_s,
            [
                Series(
                    "earned (sat)",
                    [p.flow.fee_out_msat / 1000 for p in points],
                    COLORS["fees"],
                    "bars",
                )
            ],
            markers,
        ),
        Chart(
            "chart-rates",
            "Fee rate: ours (out of the channel) and the peer's (into it)",
            "ppm",
            x,
            step_s,
            [
                Series(
                    "ours (ppm)",
                    rates_in_effect(policies, Direction.LOCAL, x, step_s),
                    COLORS["ours"],
                    "step",
                ),
                Series(
                    "peer's (ppm)",
                    rates_in_effect(policies, Direction.REMOTE, x, step_s),
                    COLORS["theirs"],
                    "step",
                ),
            ],
            markers,
        ),
    ]
