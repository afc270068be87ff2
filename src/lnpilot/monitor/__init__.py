"""The alert engine: rules over the store, the alert lifecycle, incidents and their actions.

Build a :class:`MonitorConfig` from the alerts file (its ``[rules]``, ``[grouping]``,
``[inhibit]`` and ``[incidents]`` tables; ``[notify]`` belongs to :mod:`lnpilot.notify`),
then call :meth:`Monitor.run_once` on a schedule. Notices go to the store's outbox, where
the notifier picks them up. Reference: ``docs/alerts.md``.
"""

from lnpilot.monitor.config import DEFAULT_RULES, MonitorConfig, RuleKind
from lnpilot.monitor.engine import CycleReport, Monitor
from lnpilot.monitor.export import incident_markdown
from lnpilot.monitor.incidents import (
    ActionRunner,
    IncidentError,
    acknowledge,
    annotate,
    decide,
    resolve,
)

__all__ = [
    "DEFAULT_RULES",
    "ActionRunner",
    "CycleReport",
    "IncidentError",
    "Monitor",
    "MonitorConfig",
    "RuleKind",
    "acknowledge",
    "annotate",
    "decide",
    "incident_markdown",
    "resolve",
]
