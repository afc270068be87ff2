"""The HTTP application: REST API under ``/api/v1``, ``/health``, ``/metrics``, and the web
dashboard when :mod:`lnpilot.web` is installed beside it.

Errors are JSON ``{"detail": ...}`` with a 4xx that says what to fix; a request that fails
validation gets 422 with one readable line per problem (``query.start: ...``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from lnpilot.api import alerts, channels, exports, fees, lifecycle, rebalances, system
from lnpilot.api.deps import UNPROCESSABLE
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
    routers = (channels, fees, rebalances, alerts, exports, lifecycle, system)
    for module in routers:
        app.include_router(module.router, prefix=API_PREFIX)
    app.add_api_route("/health", system.health, tags=["daemon"], include_in_schema=False)
    app.include_router(system.metrics_route(services.settings.api.metrics_public))
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
