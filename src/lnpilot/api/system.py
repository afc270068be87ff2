"""The daemon itself: health (public, for probes), ``/metrics``, and the audit log (admin)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from lnpilot.api import metrics
from lnpilot.api.deps import Admin, ServicesDep, StoreId, authenticate, errors
from lnpilot.service.health import LoopStatus
from lnpilot.service.ownership import Role, role_of
from lnpilot.store import audit

router = APIRouter(tags=["daemon"])


@dataclass(frozen=True)
class LoopOut:
    status: LoopStatus
    healthy: bool


@dataclass(frozen=True)
class Health:
    """``pid`` is the process that answered: with ``[api] workers`` above 1, which worker
    (the loops are the daemon's, whichever answers). ``role`` is ``owner`` when this
    daemon's loops act on the node, ``standby`` while another daemon sharing the
    PostgreSQL database owns it (:mod:`lnpilot.service.ownership`)."""

    healthy: bool
    at: datetime
    loops: list[LoopOut]
    pid: int
    role: Role


@router.get(
    "/health",
    summary="Which loop last succeeded when; 503 when any loop is unhealthy",
    responses={
        503: {"description": "A loop is failing, or more than three intervals behind schedule"}
    },
)
async def health(services: ServicesDep, response: Response) -> Health:
    now = services.clock()
    loops = [LoopOut(s, s.healthy(now)) for s in services.health.all()]
    healthy = all(loop.healthy for loop in loops)
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    role = role_of(services.health)
    return Health(healthy=healthy, at=now, loops=loops, pid=os.getpid(), role=role)


@router.get(
    "/audit",
    summary="The audit log of writes through the API, newest first",
    responses=errors(401, 403, 422),
)
async def audit_log(
    services: ServicesDep,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[StoreId | None, Query(description="Page back from this entry")] = None,
) -> list[audit.AuditEntry]:
    async with services.store.read() as reader:
        return await audit.entries(reader, limit=limit, before_id=before_id)


async def serve_metrics(services: ServicesDep) -> Response:
    return Response(await metrics.render(services), media_type=metrics.CONTENT_TYPE)


def metrics_route(public: bool) -> APIRouter:
    """``/metrics``, behind a read token unless ``public``."""
    guarded = APIRouter(tags=["daemon"])
    guarded.add_api_route(
        "/metrics",
        serve_metrics,
        summary="Prometheus metrics (text exposition format)",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **({} if public else errors(401)),
        },
        dependencies=[] if public else [Depends(authenticate)],
    )
    return guarded
