"""What every route needs: the services, the caller's token, this node's id, an audit entry.

Authentication is a bearer token (``lnpilot tokens create``). A missing or unknown token is
401, a read token on a write is 403. Every write runs inside :func:`audited`, which records
the call in the audit log however it ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from annotated_types import Interval
from fastapi import Body, Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, TypeAdapter

from lnpilot.base.redact import redact_text
from lnpilot.node.backend import NodeError
from lnpilot.service.context import Services
from lnpilot.store import audit
from lnpilot.store.coltypes import MAX_STORE_ID
from lnpilot.store.records import JsonValue
from lnpilot.store.tokens import ApiToken, Scope, find_token

#: 422, named differently across Starlette versions.
UNPROCESSABLE = 422


#: An id of a store row (a run, an incident, a silence, an audit entry) in a path or query.
#: Checked here because a larger number makes the database driver fail (a 500), not miss:
#: out of range is the caller's mistake (422), in range and absent is 404.
StoreId = Annotated[int, Interval(ge=1, le=MAX_STORE_ID)]


class _Nothing(BaseModel):
    """The only body a route without parameters accepts: none, or ``{}``."""

    model_config = ConfigDict(extra="forbid", title="Nothing")


#: The body parameter of a write that takes none. Declared rather than left out because
#: FastAPI ignores a body nobody declared: a caller who believed ``{"amount_sat": 1000}``
#: limited a rebalance got an unlimited one. Anything but no body or ``{}`` is a 422.
NoBody = Annotated[
    _Nothing | None, Body(description="This route takes no body (an empty object is accepted).")
]

_bearer = HTTPBearer(auto_error=False, description="A token from `lnpilot tokens create`.")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def authenticate(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiToken:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token (Authorization: Bearer lnp_...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    async with services.store.read() as reader:
        token = await find_token(reader, credentials.credentials)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token


async def require_admin(token: Annotated[ApiToken, Depends(authenticate)]) -> ApiToken:
    if not token.scope.allows(Scope.ADMIN):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"token {token.name!r} has the read scope; this needs admin"
        )
    return token


Reader = Annotated[ApiToken, Depends(authenticate)]
Admin = Annotated[ApiToken, Depends(require_admin)]


async def current_node_id(services: ServicesDep) -> int:
    """This daemon's node in the store; 503 until the node answered and was collected once."""
    try:
        node_id = await services.node_id()
    except NodeError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the node cannot be reached: {exc}"
        ) from None
    if node_id is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "no data yet: the collector has not run once"
        )
    return node_id


NodeId = Annotated[int, Depends(current_node_id)]


@contextlib.asynccontextmanager
async def audited(
    services: Services,
    token: ApiToken,
    action: str,
    target: str | None = None,
    detail: dict[str, JsonValue] | None = None,
) -> AsyncIterator[dict[str, JsonValue]]:
    """Record one write in the audit log, with its outcome, whatever happens inside.

    Yields a dict the route may add results to (a run id, a silence id).
    """
    found: dict[str, JsonValue] = dict(detail or {})
    outcome, error = "ok", None
    try:
        yield found
    except HTTPException as exc:
        outcome = "refused" if exc.status_code < 500 else "failed"
        error = str(exc.detail)
        raise
    except Exception as exc:
        outcome, error = "failed", redact_text(f"{type(exc).__name__}: {exc}")
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


def json_response(adapter: TypeAdapter[Any], value: object) -> Response:
    """``value`` serialised once, straight to JSON bytes. The routes the dashboard polls
    return this instead of letting FastAPI validate their own output again and encode it
    through Python objects, which costs more than reading the store (``bench/api_speed.py``).
    Their ``response_model`` still documents the shape."""
    return Response(adapter.dump_json(value), media_type="application/json")
