"""What the faces (REST API, web dashboard, ``/metrics``) share with the running daemon.

``lnpilot.api.app.create_app(services)`` receives one :class:`Services` and hands it to
``lnpilot.web.mount(app, services)``: the dashboard reads the same store and node, and shows
the same loop health, as the API, without either face importing the other's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Final

from lnpilot.config import Settings
from lnpilot.lnbits import LNbitsClient
from lnpilot.node.backend import NodeBackend
from lnpilot.service.health import LoopHealth
from lnpilot.store import Store

#: The wall clock, timezone-aware UTC.
WALL_CLOCK: Final[Callable[[], datetime]] = partial(datetime.now, UTC)


@dataclass(frozen=True)
class Services:
    """The daemon's shared objects. ``client`` is the LNbits client the node backend uses,
    when there is one, for its per-operation stats (``client.transport.stats``); ``clock``
    is what "now" means for reads (a simulation passes its virtual clock)."""

    store: Store
    node: NodeBackend
    settings: Settings
    health: LoopHealth = field(default_factory=LoopHealth)
    client: LNbitsClient | None = None
    clock: Callable[[], datetime] = WALL_CLOCK
