"""Who is looking at a page: the signed-in session, its node, and what the page must say
first (an outage); and :class:`Elsewhere`, the answer of a page that cannot be shown.

Kept apart from the routes so the pages that read (:mod:`lnpilot.web.pages`) and the ones
that act (:mod:`lnpilot.web.acting`) share them without importing each other.
"""

from dataclasses import dataclass
from datetime import datetime

from fastapi.responses import Response

from lnpilot.store.tokens import ApiToken, Scope


class Elsewhere(Exception):
    """The page cannot be shown; ``response`` says where to go or why."""

    def __init__(self, response: Response) -> None:
        super().__init__("the page is answered elsewhere")
        self.response = response


@dataclass(frozen=True)
class Outage:
    """The node cannot be reached: since when (the collector's first failure in a row),
    why, and how old the store's picture of it is. Every page shows it above the past."""

    since: datetime
    error: str | None
    last_cycle_at: datetime | None


@dataclass(frozen=True)
class Viewer:
    """A signed-in request for this daemon's node: its id in the store, "now", the outage
    the pages must mention, if any, who is signed in (the token's record) and the session's
    CSRF token, which every form that acts carries (:mod:`lnpilot.web.auth`)."""

    node_id: int
    now: datetime
    outage: Outage | None = None
    who: ApiToken | None = None
    csrf: str = ""

    @property
    def admin(self) -> bool:
        """Whether this session may act: pages show action buttons only then."""
        return self.who is not None and self.who.scope.allows(Scope.ADMIN)
