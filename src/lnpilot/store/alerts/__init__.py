"""The alert engine's own state: alerts, notification groups, silences, probes, incidents.

The rules evaluate over the collector's tables; what they conclude lives here, so the
lifecycle (pending → firing → resolved), what was already notified, the silences and the
incidents survive restarts and are shared by every process on the database. One package,
imported by this name, in four rooms:

- :mod:`~lnpilot.store.alerts.labels`: label matchers, the one way silences (stored as
  matchers), inhibition and the notifier's routes match labels;
- :mod:`~lnpilot.store.alerts.records`: the value types (alert episodes, groups, silences,
  probes, incidents, their timelines and action plans);
- :mod:`~lnpilot.store.alerts.tables`: the tables;
- :mod:`~lnpilot.store.alerts.book`: reads and writes through :class:`MonitorBook`, opened on
  one connection with :func:`monitor_book`; a write book commits everything it did (alert
  states, the notices they cause in the outbox, incidents) together, so a crash never
  leaves a state change without its notice nor a notice without its state change.
"""

from lnpilot.store.alerts.book import MonitorBook, monitor_book
from lnpilot.store.alerts.labels import Matcher, all_match
from lnpilot.store.alerts.records import (
    ALERT_FIRING,
    ALERT_RESOLVED,
    ActionState,
    Alert,
    AlertStatus,
    GroupState,
    Horizon,
    Incident,
    IncidentAction,
    IncidentStatus,
    Probe,
    Silence,
    TimelineEntry,
)

__all__ = [
    "ALERT_FIRING",
    "ALERT_RESOLVED",
    "ActionState",
    "Alert",
    "AlertStatus",
    "GroupState",
    "Horizon",
    "Incident",
    "IncidentAction",
    "IncidentStatus",
    "Matcher",
    "MonitorBook",
    "Probe",
    "Silence",
    "TimelineEntry",
    "all_match",
    "monitor_book",
]
