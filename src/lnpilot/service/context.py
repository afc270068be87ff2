"""What the faces (REST API, web dashboard, ``/metrics``) share with the running daemon.

``lnpilot.api.app.create_app(services)`` receives one :class:`Services` and hands it to
``lnpilot.web.mount(app, services)``: the dashboard reads the same store and node, and shows
the same loop health, as the API, without either face importing the other's internals.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Final

from lnpilot.collect.identity import node_identity
from lnpilot.config import Settings
from lnpilot.lnbits import LNbitsClient
from lnpilot.node.backend import NodeBackend
from lnpilot.service.background import Background
from lnpilot.service.health import LoopHealth
from lnpilot.service.readcache import ReadCache, Settled
from lnpilot.store import Store
from lnpilot.store.tokens import ApiToken, find_token, hash_token

#: The wall clock, timezone-aware UTC.
WALL_CLOCK: Final[Callable[[], datetime]] = partial(datetime.now, UTC)


@dataclass
class _Identity:
    pubkey: str | None = None
    node_id: int | None = None


@dataclass(frozen=True)
class Services:
    """The daemon's shared objects. ``client`` is the LNbits client the node backend uses,
    when there is one, for its per-operation stats (``client.transport.stats``); ``clock``
    is what "now" means for reads (a simulation passes its virtual clock) and
    ``clock_speed`` how many of its seconds pass per wall-clock second (the demo's
    speed-up), so that the loops' wall-clock schedules can be judged on ``clock``;
    ``node_pubkey`` names the node when it is known without asking it (else :meth:`node_id`
    asks once); ``reads`` holds the answers the faces share between readers until the
    store's state moves on and ``settled`` the small reads kept while the store has not
    changed (:mod:`lnpilot.service.readcache`); ``background`` the work faces started that
    runs on (:mod:`lnpilot.service.background`: backtests); ``secret_key`` signs what the
    faces hand out and check later (the dashboard's CSRF tokens): random per run, and the
    same in every API worker process of that run, which a form posted to another worker
    needs."""

    store: Store
    node: NodeBackend
    settings: Settings
    health: LoopHealth = field(default_factory=LoopHealth)
    client: LNbitsClient | None = None
    clock: Callable[[], datetime] = WALL_CLOCK
    clock_speed: float = 1.0
    node_pubkey: str | None = None
    secret_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    reads: ReadCache = field(default_factory=ReadCache, repr=False, compare=False)
    settled: Settled = field(default_factory=Settled, repr=False, compare=False)
    background: Background = field(default_factory=Background, repr=False, compare=False)
    _identity: _Identity = field(default_factory=_Identity, repr=False, compare=False)

    def on_clock(self, wall_s: float) -> timedelta:
        """A wall-clock duration (a loop's interval) as it passes on ``clock``."""
        return timedelta(seconds=wall_s * self.clock_speed)

    async def pubkey(self) -> str:
        """The node's pubkey: as given, else asked of the node once, else (while the node
        cannot be reached) the one node the store holds from earlier runs; raises
        ``NodeError`` when none of them tells."""
        identity = self._identity
        if identity.pubkey is None:
            identity.pubkey = (
                self.node_pubkey or (await node_identity(self.node, self.store)).pubkey
            )
        return identity.pubkey

    async def node_id(self) -> int | None:
        """The store's id of this daemon's node; None until the collector has recorded it.
        Every store read of the faces is keyed by it."""
        identity = self._identity
        if identity.node_id is None:
            pubkey = await self.pubkey()
            async with self.store.read() as reader:
                identity.node_id = await reader.node_id(pubkey)
        return identity.node_id

    async def token(self, secret: str) -> ApiToken | None:
        """The stored record of an API token (the REST API's bearer, the dashboard's
        cookie), None when unknown or revoked. Read again only once the store changed (a
        token created or revoked is a change): a read per request was most of what a cached
        channel list cost (``docs/limits.md``)."""

        async def lookup() -> ApiToken | None:
            async with self.store.read() as reader:
                return await find_token(reader, secret)

        version = await self.store.data_version()
        return await self.settled.get(version, ("token", hash_token(secret)), lookup)
