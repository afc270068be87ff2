"""The close procedure over HTTP: advice (read), plans and their runs (admin, audited).

The same engine as ``lnpilot close``: a run without ``apply`` is a journaled dry run, a
force-close plan runs only with ``approve_force``, and the token's name is who approved
each step in the plan's journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from lnpilot.api.deps import (
    SCID_PATTERN,
    UNPROCESSABLE,
    Admin,
    NodeId,
    Reader,
    ServicesDep,
    StoreId,
    audited,
    errors,
)
from lnpilot.lifecycle.advise import Advice, AdviseSettings, advise
from lnpilot.lifecycle.close import (
    DEFAULT_HTLC_DEADLINE,
    MAX_FEE_RATE_SAT_PER_VB,
    MIN_FEE_RATE_SAT_PER_VB,
    CloseError,
    plan_close,
    run_close,
)
from lnpilot.node.backend import NodeError
from lnpilot.store import lifecycle
from lnpilot.store.lifecycle import PlanRecord, StepRecord

router = APIRouter(prefix="/close", tags=["channel lifecycle"], responses=errors(401, 422))


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scid: str = Field(pattern=SCID_PATTERN, examples=["800000x3x0"])
    sat_per_vbyte: int | None = Field(
        default=None, ge=MIN_FEE_RATE_SAT_PER_VB, le=MAX_FEE_RATE_SAT_PER_VB
    )
    force: bool = False
    htlc_deadline_s: int = Field(
        default=int(DEFAULT_HTLC_DEADLINE.total_seconds()), gt=0, le=7 * 86_400
    )


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    apply: bool = False
    approve_force: bool = False


@dataclass(frozen=True)
class PlanOut:
    plan: PlanRecord
    journal: list[StepRecord]


@router.get(
    "/advice",
    summary="Which channels should close and why; keep, with its reasons",
    responses=errors(503),
)
async def advice(
    services: ServicesDep,
    node_id: NodeId,
    _: Reader,
    fee_rate_sat_per_vbyte: Annotated[
        int, Query(ge=MIN_FEE_RATE_SAT_PER_VB, le=MAX_FEE_RATE_SAT_PER_VB)
    ] = AdviseSettings.fee_rate_sat_per_vbyte,
) -> list[Advice]:
    async with services.store.read() as reader:
        return await advise(
            reader,
            node_id,
            services.clock(),
            AdviseSettings(fee_rate_sat_per_vbyte=fee_rate_sat_per_vbyte),
        )


@router.get("/plans", summary="Close plans, newest first", responses=errors(503))
async def plans(services: ServicesDep, node_id: NodeId, _: Reader) -> list[PlanRecord]:
    async with services.store.read() as reader:
        return [p for p in await lifecycle.plans(reader, node_id) if p.kind == "close"]


@router.get("/plans/{plan_id}", summary="One close plan with its journal", responses=errors(404))
async def plan_detail(services: ServicesDep, _: Reader, plan_id: StoreId) -> PlanOut:
    return await _plan_out(services, plan_id)


@router.post(
    "/plans",
    summary="Store a close plan; nothing is sent to the node",
    responses=errors(403, 503),
)
async def make_plan(services: ServicesDep, node_id: NodeId, token: Admin, body: PlanIn) -> PlanOut:
    async with audited(services, token, "close.plan", body.scid) as detail:
        try:
            plan = await plan_close(
                services.node,
                services.store,
                node_id,
                body.scid,
                by=token.name,
                now=services.clock(),
                sat_per_vbyte=body.sat_per_vbyte,
                force=body.force,
                htlc_deadline=_seconds(body.htlc_deadline_s),
            )
        except CloseError as exc:
            raise HTTPException(UNPROCESSABLE, str(exc)) from None
        assert plan.id is not None
        detail["plan_id"] = plan.id
        return await _plan_out(services, plan.id)


@router.post(
    "/plans/{plan_id}/run",
    summary="Take the plan's next steps (dry run unless apply)",
    responses=errors(403, 404, 409),
)
async def run_plan(services: ServicesDep, token: Admin, plan_id: StoreId, body: RunIn) -> PlanOut:
    await _plan_out(services, plan_id)  # 404 for a plan that is not there, before the audit
    action = "close.run" if body.apply else "close.dry_run"
    async with audited(services, token, action, str(plan_id)) as detail:
        try:
            report = await run_close(
                services.node,
                services.store,
                plan_id,
                by=token.name,
                clock=services.clock,
                apply=body.apply,
                approve_force=body.approve_force,
            )
        except CloseError as exc:
            raise HTTPException(UNPROCESSABLE, str(exc)) from None
        except NodeError as exc:  # CapabilityMissing included
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        detail["steps"] = [f"{s.step}:{s.outcome}" for s in report.steps]
        return await _plan_out(services, plan_id)


async def _plan_out(services: ServicesDep, plan_id: int) -> PlanOut:
    async with services.store.read() as reader:
        found = await lifecycle.plan(reader, plan_id)
        if found is None or found.kind != "close":
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no close plan {plan_id}")
        return PlanOut(found, await lifecycle.steps(reader, [plan_id]))


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)
