"""The writes both faces make, in one place: the audit record around each, and the engine
settings each reads from the daemon's policy file.

The REST API (``api/``) and the dashboard (``web/``) are siblings and may not import each
other, yet an operator's "apply fees" must be the same act, recorded the same way, whichever
face it came through. So the audit wrapper and the loading of the fee policy and the
rebalancer live here, below both, and each face only turns :class:`Refused` into its own
answer (an HTTP error body, a page).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from lnpilot.base.redact import redact_text
from lnpilot.fees import PolicyError, PolicyFile, load_policy
from lnpilot.rebalance import Rebalancer, SettingsError
from lnpilot.rebalance import load_settings as load_rebalance
from lnpilot.service.context import Services
from lnpilot.service.ownership import Role, role_of
from lnpilot.store import audit
from lnpilot.store.records import JsonValue
from lnpilot.store.tokens import ApiToken

#: HTTP-like statuses of a refusal, so both faces answer alike.
CONFLICT = 409
NOT_FOUND = 404
UNPROCESSABLE = 422
UNAVAILABLE = 503

#: Why a standby daemon refuses an act on the node (:func:`owner_only`).
STANDBY = (
    "this daemon is standby: another daemon sharing the database owns the node;"
    " act through the owner's API or dashboard"
)


class Refused(Exception):
    """The write cannot be done as asked; ``status`` is the HTTP-like code (409: not in the
    current state, 404: no such thing, 422: bad input) and the message says what to change."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.status_code = status  # read by audited(), like an HTTPException's


def owner_only(services: Services) -> None:
    """An act on the node (a fee apply or rollback, a rebalance run, a plan run) is the
    owning daemon's alone when several share the database (:mod:`lnpilot.service.ownership`):
    raises :class:`Refused` (503) on a standby, before anything is done or journaled."""
    if role_of(services.health) is Role.STANDBY:
        raise Refused(UNAVAILABLE, STANDBY)


def _refusal_status(exc: BaseException) -> int | None:
    """The status of an exception that refuses (a :class:`Refused`, or a face's own HTTP
    error carrying ``status_code``), None for a failure."""
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


@contextlib.asynccontextmanager
async def audited(
    services: Services,
    token: ApiToken,
    action: str,
    target: str | None = None,
    detail: dict[str, JsonValue] | None = None,
) -> AsyncIterator[dict[str, JsonValue]]:
    """Record one write in the audit log, with its outcome, whatever happens inside.

    Yields a dict the caller may add results to (a run id, a silence id). An exception with
    a status (a :class:`Refused`, an HTTP error) is recorded with its words, as ``refused``
    below 500 and ``failed`` from 500; any other as ``failed``, its text redacted. The
    exception goes on to the face.
    """
    found: dict[str, JsonValue] = dict(detail or {})
    outcome, error = "ok", None
    try:
        yield found
    except Exception as exc:
        status = _refusal_status(exc)
        if status is None:
            outcome, error = "failed", redact_text(f"{type(exc).__name__}: {exc}")
        else:  # a face's answer: its words were written for the caller already
            outcome = "refused" if status < 500 else "failed"
            error = str(getattr(exc, "detail", None) or exc)
        raise
    finally:
        entry = audit.AuditEntry(
            at=services.clock(),
            actor=token.name,
            token_id=token.id,
            action=action,
            target=target,
            outcome=outcome,
            error=error,
            detail=found,
        )
        async with services.store.transaction() as tx:
            await audit.record(tx, entry)


def fee_policy(services: Services) -> PolicyFile:
    """The daemon's fee policy, read now so an edited file is used at once; a missing or
    broken one is refused with its problems, never half-applied."""
    path = services.settings.service.fees_policy_file
    if path is None:
        raise Refused(CONFLICT, "no fee policy: set [service] fees_policy_file")
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise Refused(CONFLICT, "; ".join(exc.problems)) from None


def rebalancer(services: Services) -> Rebalancer:
    """A rebalancer on the ``[rebalance]`` table of the daemon's policy file, read now."""
    path = services.settings.service.fees_policy_file
    if path is None:
        raise Refused(CONFLICT, "no policy file: set [service] fees_policy_file")
    try:
        settings = load_rebalance(path)
    except SettingsError as exc:
        raise Refused(CONFLICT, "; ".join(exc.problems)) from None
    return Rebalancer(services.node, services.store, settings, clock=services.clock)
