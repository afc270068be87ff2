"""What every route needs: the services, the caller's token, this node's id, an audit entry.

Authentication is a bearer token (``lnpilot tokens create``). A missing or unknown token is
401, a read token on a write is 403. Every write runs inside :func:`audited`, which records
the call in the audit log however it ends (``service.actions.audited``, shared with the
dashboard, so a write is recorded alike through either face).
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Interval
from fastapi import Body, Depends, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, TypeAdapter

from lnpilot.node.backend import NodeError
from lnpilot.service.actions import Refused, owner_only
from lnpilot.service.actions import audited as audited
from lnpilot.service.context import Services
from lnpilot.store.coltypes import MAX_STORE_ID
from lnpilot.store.tokens import ApiToken, Scope

#: 422, named differently across Starlette versions.
UNPROCESSABLE = 422


class ErrorOut(BaseModel):
    """Every error but bad input: what went wrong, in one sentence."""

    detail: str


class ProblemsOut(BaseModel):
    """Bad input (422): a summary, and one line per problem (``query.start: ...``)."""

    detail: str
    problems: list[str]


_WHY = {
    401: "No bearer token, or an unknown or revoked one",
    403: "A read token on a route that needs admin",
    404: "No such thing in the store",
    409: "Cannot be done in the current state (no policy file, a dry run to roll back, ...)",
    422: "Bad input: one line per problem",
    503: "The node cannot be reached, the collector has not run once yet, or (actions) this"
    " daemon is standby: another daemon sharing the database owns the node",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route for the error answers it really gives, so the OpenAPI
    document describes them (``tests/api/test_openapi_conformance.py`` keeps it true)."""
    return {
        code: {
            "model": ProblemsOut if code == UNPROCESSABLE else ErrorOut,
            "description": _WHY[code],
        }
        for code in codes
    }


def json_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """:func:`errors` for a route whose success is not JSON (FastAPI would file the error
    models under the route's own media type, though errors are always JSON)."""
    return {
        code: {
            "description": _WHY[code],
            "content": {
                "application/json": {
                    "schema": {
                        "$ref": "#/components/schemas/"
                        + (ProblemsOut if code == UNPROCESSABLE else ErrorOut).__name__
                    }
                }
            },
        }
        for code in codes
    }


#: A short channel id, ``BLOCKxTXxOUT``. The digit counts keep every match within what the
#: store can hold: tx below 2^24, output below 2^16, and the block below 2^23 (not 2^24),
#: because the store's channel ids are signed 64-bit (block 8,388,608 is a century away).
SCID_PATTERN = r"^[0-7]?[0-9]{1,6}x[0-9]{1,7}x[0-9]{1,4}$"
#: The pattern as documentation only: the routes parse the id themselves
#: (``channels.parse_scid``), whose 422 names the format instead of quoting a regex.
SCID_SCHEMA: dict[str, Any] = {"pattern": SCID_PATTERN, "examples": ["800000x1x0"]}

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


#: Each route's query names, found once: a route's dependencies never change once the app
#: is built, and walking them cost every request (the channel list's above all) some CPU.
#: Keyed by identity (routes are not hashable); the route is kept beside its names so that
#: an id reused by a later app's route is told apart.
_QUERY_NAMES: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def _query_names(route: APIRoute) -> frozenset[str]:
    """Every query parameter the route or one of its dependencies declares."""
    found = _QUERY_NAMES.get(id(route))
    if found is None or found[0] is not route:
        found = _QUERY_NAMES[id(route)] = (route, _walk_query_names(route))
    return found[1]


def _walk_query_names(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


async def known_query_only(request: Request) -> None:
    """422 for a query parameter the route does not take: a misspelt ``limt=5`` or
    ``chanel=...`` would otherwise be ignored and the answer taken for what was asked."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _query_names(route)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": f"unknown parameter (this route takes: {takes})"}
                for name in unknown
            ]
        )


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def authenticate(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiToken:
    """The caller's token; 401 when there is none, or it is unknown or revoked."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token (Authorization: Bearer lnp_...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = await services.token(credentials.credentials)
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


async def require_owner(
    services: ServicesDep, token: Annotated[ApiToken, Depends(require_admin)]
) -> ApiToken:
    """An admin route that acts on the node: the owning daemon's alone
    (:func:`lnpilot.service.actions.owner_only`)."""
    try:
        owner_only(services)
    except Refused as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return token


Reader = Annotated[ApiToken, Depends(authenticate)]
Admin = Annotated[ApiToken, Depends(require_admin)]
Owner = Annotated[ApiToken, Depends(require_owner)]


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


def json_response(adapter: TypeAdapter[Any], value: object) -> Response:
    """``value`` serialised once, straight to JSON bytes. The routes the dashboard polls
    return this instead of letting FastAPI validate their own output again and encode it
    through Python objects, which costs more than reading the store (``bench/api_speed.py``).
    Their ``response_model`` still documents the shape."""
    return Response(adapter.dump_json(value), media_type="application/json")
