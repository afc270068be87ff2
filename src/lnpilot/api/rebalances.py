"""Rebalances: plan (a journaled dry run), run (apply), the journal, and the history that says
whether each channel's rebalances paid for themselves. Writes need admin and are audited.

The settings are the ``[rebalance]`` table of the daemon's policy file, read at each call. A
rebalancer made here and the daemon's own never move the same channel at once: rebalances
under way are journaled as running, and every rebalancer keeps off those channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from lnpilot.api.channels import parse_scid
from lnpilot.api.deps import (
    SCID_SCHEMA,
    Admin,
    NoBody,
    NodeId,
    Reader,
    ServicesDep,
    StoreId,
    audited,
    errors,
)
from lnpilot.node.backend import CapabilityMissing
from lnpilot.rebalance import (
    Attribution,
    History,
    RebalanceMode,
    Rebalancer,
    history,
)
from lnpilot.service import actions
from lnpilot.service.context import Services
from lnpilot.store import rebalances
from lnpilot.store.rebalances import RebalanceDecision, RebalanceRun

router = APIRouter(prefix="/rebalances", tags=["rebalances"], responses=errors(401, 422))


@dataclass(frozen=True)
class RunOut:
    """A run's every channel decision as journaled, with what became of it."""

    run_id: int
    decisions: list[RebalanceDecision]


@dataclass(frozen=True)
class HistoryOut:
    """The rebalances started in the range, and per target channel: liquidity bought, its
    cost, what of it forwards sold since, and the fees they earned."""

    history: History
    channels: list[Attribution]
    cost_msat: int
    earned_msat: int


def _rebalancer(services: Services) -> Rebalancer:
    try:
        return actions.rebalancer(services)
    except actions.Refused as exc:
        raise HTTPException(exc.status, str(exc)) from None


async def _journaled(services: Services, run_id: int) -> RunOut:
    async with services.store.read() as reader:
        return RunOut(run_id, await rebalances.run_decisions(reader, run_id))


async def _run(services: Services, token: Admin, mode: RebalanceMode) -> RunOut:
    action = "rebalances.run" if mode is RebalanceMode.APPLY else "rebalances.plan"
    async with audited(services, token, action) as detail:
        try:
            report = await _rebalancer(services).run(mode, trigger=f"api:{token.name}")
        except CapabilityMissing as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        detail["run_id"] = report.run_id
        return await _journaled(services, report.run_id)


@router.post(
    "/plan", summary="Plan rebalances now: a dry run, journaled", responses=errors(403, 409, 503)
)
async def plan(services: ServicesDep, token: Admin, _body: NoBody = None) -> RunOut:
    return await _run(services, token, RebalanceMode.DRY_RUN)


@router.post(
    "/run",
    summary="Plan and execute rebalances now, within the budget",
    responses=errors(403, 409, 503),
)
async def run(services: ServicesDep, token: Admin, _body: NoBody = None) -> RunOut:
    return await _run(services, token, RebalanceMode.APPLY)


@router.get("/runs", summary="The latest rebalancing runs, newest first", responses=errors(503))
async def runs(
    services: ServicesDep,
    node_id: NodeId,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> list[RebalanceRun]:
    async with services.store.read() as reader:
        return await rebalances.runs(reader, node_id, limit=limit)


@router.get("/runs/{run_id}", summary="One run's decisions", responses=errors(404))
async def run_detail(services: ServicesDep, _: Reader, run_id: StoreId) -> RunOut:
    found = await _journaled(services, run_id)
    if not found.decisions:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no rebalancing run {run_id}")
    return found


@router.get(
    "/history",
    summary="Rebalances and whether they paid for themselves",
    responses=errors(503),
)
async def rebalance_history(
    services: ServicesDep,
    node_id: NodeId,
    _: Reader,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    channel: Annotated[
        str | None, Query(description="Target channel (short id)", json_schema_extra=SCID_SCHEMA)
    ] = None,
) -> HistoryOut:
    now = services.clock()
    chan_id = parse_scid(channel) if channel is not None else None
    found = await history(services.store, node_id, now - timedelta(days=days), now, chan_id=chan_id)
    return HistoryOut(
        history=found,
        channels=sorted(found.channels.values(), key=lambda a: a.chan_id),
        cost_msat=found.cost_msat,
        earned_msat=found.earned_msat,
    )
