"""Fee plans: plan (a journaled dry run), apply, history, rollback. Writes need admin.

The policy is the daemon's, ``[service] fees_policy_file``, read at each call so an edited
file is used at once (and a broken one is refused with its problems, not half-applied).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from lnpilot.api.deps import (
    Admin,
    NoBody,
    NodeId,
    Owner,
    Reader,
    ServicesDep,
    StoreId,
    audited,
    errors,
)
from lnpilot.fees import PolicyFile, RollbackError, RunReport, evaluate
from lnpilot.fees import rollback as rollback_run
from lnpilot.service import actions
from lnpilot.service.context import Services
from lnpilot.store import Store, fee_journal
from lnpilot.store.fee_journal import FeeDecision, FeeRun

router = APIRouter(prefix="/fees", tags=["fees"], responses=errors(401, 422))


@dataclass(frozen=True)
class RunOut:
    """A run as journaled, with every channel's decision (including "nothing to do")."""

    run: FeeRun
    decisions: list[FeeDecision]


def _policy(services: Services) -> PolicyFile:
    try:
        return actions.fee_policy(services)
    except actions.Refused as exc:
        raise HTTPException(exc.status, str(exc)) from None


async def journaled_run(store: Store, run_id: int) -> RunOut | None:
    """Run ``run_id`` as the journal holds it, None when there is none: what this API and
    ``lnpilot fees plan|apply|rollback --json`` answer for a run."""
    async with store.read() as reader:
        run = await fee_journal.get_run(reader, run_id)
        if run is None:
            return None
        return RunOut(run, await fee_journal.run_decisions(reader, run_id))


async def _journaled(services: Services, report: RunReport) -> RunOut:
    found = await journaled_run(services.store, report.run_id)
    assert found is not None  # it was just written
    return found


async def _evaluate(services: Services, token: Admin, *, apply: bool) -> RunOut:
    async with audited(services, token, "fees.apply" if apply else "fees.plan") as detail:
        report = await evaluate(
            services.node, services.store, _policy(services), services.clock(), apply=apply
        )
        detail["run_id"] = report.run_id
        return await _journaled(services, report)


@router.post(
    "/plan",
    summary="Plan fees now: a dry run, journaled, nothing sent",
    responses=errors(403, 409, 503),
)
async def plan(services: ServicesDep, token: Admin, _body: NoBody = None) -> RunOut:
    return await _evaluate(services, token, apply=False)


@router.post(
    "/apply",
    summary="Plan and apply fees now, verified by reading back",
    responses=errors(403, 409, 503),
)
async def apply(services: ServicesDep, token: Owner, _body: NoBody = None) -> RunOut:
    return await _evaluate(services, token, apply=True)


@router.get("/runs", summary="The latest fee runs, newest first", responses=errors(503))
async def runs(
    services: ServicesDep,
    node_id: NodeId,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> list[FeeRun]:
    async with services.store.read() as reader:
        return await fee_journal.runs(reader, node_id, limit=limit)


@router.get("/runs/{run_id}", summary="One fee run and its decisions", responses=errors(404))
async def run(services: ServicesDep, _: Reader, run_id: StoreId) -> RunOut:
    found = await journaled_run(services.store, run_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no fee run {run_id}")
    return found


@router.post(
    "/runs/{run_id}/rollback",
    summary="Restore the policies an applied run changed",
    responses=errors(403, 404, 409, 503),
)
async def rollback(
    services: ServicesDep,
    token: Owner,
    run_id: StoreId,
    force: Annotated[
        bool, Query(description="Restore even where the policy changed again since")
    ] = False,
    _body: NoBody = None,
) -> RunOut:
    async with audited(
        services, token, "fees.rollback", target=f"run:{run_id}", detail={"force": force}
    ) as detail:
        async with services.store.read() as reader:
            if await fee_journal.get_run(reader, run_id) is None:  # 404, not a conflict
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no fee run {run_id}")
        try:
            report = await rollback_run(
                services.node, services.store, run_id, services.clock(), force=force
            )
        except RollbackError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        detail["run_id"] = report.run_id
        return await _journaled(services, report)
