"""The daemon: one asyncio supervisor running the engine's loops on their schedules.

The faces (API, dashboard, metrics) see the running daemon through :class:`Services`:
the store, the node, the settings and the loops' health. Behaviour: ``docs/service.md``.
"""

from lnpilot.service.context import Services
from lnpilot.service.health import LoopHealth, LoopStatus

__all__ = ["LoopHealth", "LoopStatus", "Services"]
