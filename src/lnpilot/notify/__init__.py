"""Notifications: the alert engine's notices, routed and delivered by email, Telegram,
webhook or Apprise, through the store's persistent outbox.

Build a :class:`NotifyConfig` from the alerts file's ``[notify]`` table and call
:meth:`Notifier.run_once` often. Reference: ``docs/alerts.md``.
"""

from lnpilot.notify.config import NotifyConfig
from lnpilot.notify.notifier import Attempt, Notifier, route_notice
from lnpilot.notify.senders import DeliveryError, sign

__all__ = ["Attempt", "DeliveryError", "Notifier", "NotifyConfig", "route_notice", "sign"]
