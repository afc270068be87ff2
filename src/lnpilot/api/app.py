"""The HTTP application: REST API under ``/api/v1``, ``/health``, ``/metrics``, and the web
dashboard when :mod:`lnpilot.web` is installed beside it.

Errors are JSON ``{"detail": ...}`` with a 4xx that says what to fix; bad input is always 422
with one readable line per problem too (``{"detail", "problems"}``), whether the request failed
the declared validation (``query.start: ...``) or a rule a route checks itself (start before
end). The OpenAPI document says so for every route (``deps.errors``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from lnpilot.api import (
    alerts,
    backtests,
    channels,
    exports,
    fees,
    lifecycle,
    rebalances,
    system,
)
from lnpilot.api.deps import UNPROCESSABLE, known_query_only
from lnpilot.service.context import Services

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="lnpilot",
        version=importlib.metadata.version("lnpilot"),
        summary="Monitor and controller of a Lightning node run through LNbits.",
        description=(
            "Authenticate with `Authorization: Bearer <token>` (`lnpilot tokens create`). "
            "Read routes need a read or admin token, writes an admin token; every write is "
            "recorded in the audit log. Amounts are msat, capacities sat."
        ),
    )
    app.state.services = services
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    strict = [Depends(known_query_only)]
    for router in (
        channels.router,
        fees.router,
        rebalances.router,
        backtests.router,
        alerts.router,
        exports.router,
        lifecycle.router,
        lifecycle.open_router,
        system.router,
    ):
        app.include_router(router, prefix=API_PREFIX, dependencies=strict)
    app.add_api_route("/health", system.health, tags=["daemon"], include_in_schema=False)
    app.include_router(
        system.metrics_route(services.settings.api.metrics_public), dependencies=strict
    )
    _mount_web(app, services)
    return app


def _mount_web(app: FastAPI, services: Services) -> None:
    """Let the dashboard add its pages, when that package is present."""
    try:
        web = importlib.import_module("lnpilot.web")
    except ImportError as exc:
        if exc.name != "lnpilot.web":  # the dashboard is there but broken: say so
            raise
        log.info("no lnpilot.web: serving the API only")
        return
    web.mount(app, services)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
    ]
    content: dict[str, Any] = {"detail": "invalid request", "problems": problems}
    return JSONResponse(content, status_code=UNPROCESSABLE)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Bad input has one answer: a route's own 422, and FastAPI's 400 for a body that is not
    JSON, get the shape of a failed validation; the rest is answered as FastAPI does."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and request.url.path.startswith(API_PREFIX):
        problem = f"body: {exc.detail}"
        content = {"detail": "invalid request", "problems": [problem]}
        return JSONResponse(content, status_code=UNPROCESSABLE)
    if exc.status_code != UNPROCESSABLE:
        return await http_exception_handler(request, exc)
    problem = str(exc.detail)
    return JSONResponse({"detail": problem, "problems": [problem]}, status_code=UNPROCESSABLE)
