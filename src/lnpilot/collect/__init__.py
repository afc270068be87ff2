"""The collector: it reads the node on a schedule, records its state and history in the
store and turns what changed into events; the per-channel metrics derived from what it
recorded are a read model of the store (:mod:`lnpilot.store.metrics`), which the faces and
the rebalancer read alike. Behaviour, events and metrics: ``docs/collector.md``.
"""

from lnpilot.collect.collector import Collector, CycleReport

__all__ = [
    "Collector",
    "CycleReport",
]
