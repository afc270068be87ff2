"""The collector: it reads the node on a schedule, records its state and history in the
store, turns what changed into events, and derives per-channel metrics from what it
recorded. Behaviour, events and metrics: ``docs/collector.md``.
"""

from lnpilot.collect.collector import GAP_INTERVALS, Collector, CycleReport
from lnpilot.collect.events import EventKind
from lnpilot.collect.metrics import ChannelMetrics, WindowFlow, channel_metrics

__all__ = [
    "GAP_INTERVALS",
    "ChannelMetrics",
    "Collector",
    "CycleReport",
    "EventKind",
    "WindowFlow",
    "channel_metrics",
]
