"""Opening and closing over HTTP: suggestions and advice (read), plans and their runs
(admin, audited).

The same service functions as ``lnpilot open`` and ``lnpilot close``: a run without
``apply`` is a journaled dry run, a force-close plan runs only with ``approve_force``, and
the token's name is who approved each step in the plan's journal. Suggestions read the node
live (the graph, the wallet), so an unreachable node is a 503 and a backend without the
call a 409 naming what is missing.
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
    Owner,
    Reader,
    ServicesDep,
    StoreId,
    audited,
    errors,
)
from lnpilot.lifecycle.advise import Advice, close_advice
from lnpilot.lifecycle.close import (
    DEFAULT_HTLC_DEADLINE,
    MAX_FEE_RATE_SAT_PER_VB,
    MIN_FEE_RATE_SAT_PER_VB,
    CloseError,
    plan_close,
    run_close,
)
from lnpilot.lifecycle.open import (
    OPEN_KIND,
    OpenError,
    OpenTerms,
    Suggestion,
    plan_open,
    run_open,
    suggest_open,
)
from lnpilot.node.backend import CapabilityMissing, NodeError
from lnpilot.store import lifecycle
from lnpilot.store.lifecycle import PlanRecord, StepRecord

router = APIRouter(prefix="/close", tags=["channel lifecycle"], responses=errors(401, 422))
open_router = APIRouter(prefix="/open", tags=["channel lifecycle"], responses=errors(401, 422))
PUBKEY_PATTERN = "^(02|03)[0-9a-f]{64}$"


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
        int | None, Query(ge=MIN_FEE_RATE_SAT_PER_VB, le=MAX_FEE_RATE_SAT_PER_VB)
    ] = None,
) -> list[Advice]:
    try:
        return await close_advice(
            services.node,
            services.store,
            node_id,
            services.clock(),
            fee_rate_sat_per_vbyte=fee_rate_sat_per_vbyte,
            fee_rate_flag="fee_rate_sat_per_vbyte",
        )
    except NodeError as exc:
        raise _node_failed(exc) from None


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
    responses=errors(403, 404, 409, 503),
)
async def run_plan(services: ServicesDep, token: Owner, plan_id: StoreId, body: RunIn) -> PlanOut:
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


async def _plan_out(services: ServicesDep, plan_id: int, kind: str = "close") -> PlanOut:
    async with services.store.read() as reader:
        found = await lifecycle.plan(reader, plan_id)
        if found is None or found.kind != kind:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind} plan {plan_id}")
        return PlanOut(found, await lifecycle.steps(reader, [plan_id]))


def _node_failed(exc: NodeError) -> HTTPException:
    """A backend without the call is a state (409, naming it); any other failure of the node
    is its being unreachable (503)."""
    if isinstance(exc, CapabilityMissing):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"the node cannot be reached: {exc}")


# --- opening -----------------------------------------------------------------------------


class OpenPlanIn(BaseModel):
    """An open plan: the peer, the size, and the terms set on the channel."""

    model_config = ConfigDict(extra="forbid")

    peer_pubkey: str = Field(pattern=PUBKEY_PATTERN, examples=["02" + "ab" * 32])
    capacity_sat: int = Field(gt=0, le=21_000_000 * 100_000_000)
    address: str | None = Field(default=None, max_length=300, examples=["node.example:9735"])
    sat_per_vbyte: int | None = Field(
        default=None, ge=MIN_FEE_RATE_SAT_PER_VB, le=MAX_FEE_RATE_SAT_PER_VB
    )
    fee_rate_ppm: int | None = Field(default=None, ge=0)
    base_fee_msat: int | None = Field(default=None, ge=0)
    inbound_fee_rate_ppm: int | None = None
    cltv_delta: int | None = Field(default=None, ge=18, le=2016)
    min_htlc_msat: int | None = Field(default=None, ge=0)
    max_htlc_msat: int | None = Field(default=None, gt=0)
    remote_reserve_sat: int | None = Field(default=None, ge=0)
    name: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    contact: str | None = Field(default=None, max_length=200)

    def terms(self) -> OpenTerms:
        return OpenTerms(
            fee_rate_ppm=self.fee_rate_ppm,
            base_fee_msat=self.base_fee_msat,
            inbound_fee_rate_ppm=self.inbound_fee_rate_ppm,
            cltv_delta=self.cltv_delta,
            min_htlc_msat=self.min_htlc_msat,
            max_htlc_msat=self.max_htlc_msat,
            remote_reserve_sat=self.remote_reserve_sat,
            name=self.name,
            note=self.note,
            contact=self.contact,
        )


class OpenRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    apply: bool = False


@open_router.get(
    "/suggestions",
    summary="Whom to open a channel to and how large, each score with its parts",
    description="Reads the node now (graph, channels, wallet); sends nothing. The budget "
    "(default: the confirmed on-chain balance) must cover one channel worth its on-chain "
    "cost at the fee rate (default: the node's estimate), else 422 says how much it lacks; "
    "a backend without estimates needs `fee_rate_sat_per_vbyte` (422 says so).",
    responses=errors(409, 503),
)
async def suggestions(
    services: ServicesDep,
    node_id: NodeId,
    _: Reader,
    budget_sat: Annotated[int | None, Query(ge=0)] = None,
    count: Annotated[int, Query(ge=1, le=50)] = 3,
    fee_rate_sat_per_vbyte: Annotated[
        int | None, Query(ge=MIN_FEE_RATE_SAT_PER_VB, le=MAX_FEE_RATE_SAT_PER_VB)
    ] = None,
) -> Suggestion:
    try:
        return await suggest_open(
            services.node,
            services.store,
            node_id,
            services.clock(),
            budget_sat=budget_sat,
            count=count,
            fee_rate_sat_per_vbyte=fee_rate_sat_per_vbyte,
            fee_rate_flag="fee_rate_sat_per_vbyte",
        )
    except OpenError as exc:
        raise HTTPException(UNPROCESSABLE, str(exc)) from None
    except NodeError as exc:
        raise _node_failed(exc) from None


@open_router.get("/plans", summary="Open plans, newest first", responses=errors(503))
async def open_plans(services: ServicesDep, node_id: NodeId, _: Reader) -> list[PlanRecord]:
    async with services.store.read() as reader:
        return [p for p in await lifecycle.plans(reader, node_id) if p.kind == OPEN_KIND]


@open_router.get(
    "/plans/{plan_id}", summary="One open plan with its journal", responses=errors(404)
)
async def open_plan_detail(services: ServicesDep, _: Reader, plan_id: StoreId) -> PlanOut:
    return await _plan_out(services, plan_id, OPEN_KIND)


@open_router.post(
    "/plans",
    summary="Store an open plan; nothing is sent to the node",
    description="Checked against the public graph (a peer not in it needs its address), "
    "LND's minimum channel size and the wallet's confirmed balance: a failed check is a "
    "422 naming it.",
    responses=errors(403, 409, 503),
)
async def make_open_plan(
    services: ServicesDep, node_id: NodeId, token: Admin, body: OpenPlanIn
) -> PlanOut:
    async with audited(services, token, "open.plan", body.peer_pubkey) as detail:
        try:
            plan = await plan_open(
                services.node,
                services.store,
                node_id,
                body.peer_pubkey,
                body.capacity_sat,
                by=token.name,
                now=services.clock(),
                terms=body.terms(),
                address=body.address,
                sat_per_vbyte=body.sat_per_vbyte,
            )
        except OpenError as exc:
            raise HTTPException(UNPROCESSABLE, str(exc)) from None
        except NodeError as exc:
            raise _node_failed(exc) from None
        assert plan.id is not None
        detail["plan_id"] = plan.id
        return await _plan_out(services, plan.id, OPEN_KIND)


@open_router.post(
    "/plans/{plan_id}/run",
    summary="Take the open plan's next steps (dry run unless apply)",
    description="Connect, open, set the agreed policy once the funding confirms, store the "
    "agreement; a run stops at a step that must wait, and the next run resumes there.",
    responses=errors(403, 404, 409),
)
async def run_open_plan(
    services: ServicesDep, token: Admin, plan_id: StoreId, body: OpenRunIn
) -> PlanOut:
    await _plan_out(services, plan_id, OPEN_KIND)  # 404 before the audit
    action = "open.run" if body.apply else "open.dry_run"
    async with audited(services, token, action, str(plan_id)) as detail:
        try:
            report = await run_open(
                services.node,
                services.store,
                plan_id,
                by=token.name,
                clock=services.clock,
                apply=body.apply,
            )
        except OpenError as exc:
            raise HTTPException(UNPROCESSABLE, str(exc)) from None
        except NodeError as exc:  # a refused open, an unreachable peer: the node's words
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        detail["steps"] = [f"{s.step}:{s.outcome}" for s in report.steps]
        return await _plan_out(services, plan_id, OPEN_KIND)


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)
