"""The two ends of a channel's life on the dashboard: whom to open to, which channels to
close, and their plans: plan -> (dry) run -> run, for an admin session.

The same engine calls as ``lnpilot open`` and ``lnpilot close`` (``lifecycle.open``,
``lifecycle.close``), called directly: a plan is stored and changes nothing; a run without
"apply" is a journaled dry run; a force-close plan runs only with its second approval
ticked, as the CLI's ``--approve-force``. The session's token name is who approved each
step in the plan's journal, and every act is in the audit log (``service.actions``).

Suggestions ask the node (its graph, channels and wallet), so that page says plainly when
the node cannot be reached; close advice reads the store only.
"""

# No ``from __future__ import annotations``: FastAPI must see the local dependencies.
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from lnpilot.lifecycle.advise import Advice, AdviseSettings, advise, close_advice
from lnpilot.lifecycle.close import (
    DEFAULT_HTLC_DEADLINE,
    MAX_FEE_RATE_SAT_PER_VB,
    MIN_FEE_RATE_SAT_PER_VB,
    CloseError,
    plan_close,
    run_close,
)
from lnpilot.lifecycle.open import (
    OpenError,
    OpenTerms,
    Suggestion,
    plan_open,
    run_open,
    suggest_open,
)
from lnpilot.node.backend import NodeError
from lnpilot.service import actions
from lnpilot.service.actions import Refused, audited
from lnpilot.service.context import Services
from lnpilot.store import lifecycle
from lnpilot.store.coltypes import is_store_id
from lnpilot.store.lifecycle import PlanRecord, StepRecord
from lnpilot.web import auth
from lnpilot.web.acting import (
    VIA,
    Acting,
    ViewerDep,
    actor,
    admin_only,
    attempt,
    refused,
    to,
)
from lnpilot.web.session import Viewer
from lnpilot.web.templating import missing, render, render_page

#: The suggestion form's defaults (the CLI's ``open suggest``; the fee rate: the node's estimate).
DEFAULT_COUNT = 3
MAX_COUNT = 20


@dataclass(frozen=True)
class PlanView:
    plan: PlanRecord
    journal: list[StepRecord]

    @property
    def force(self) -> bool:
        return bool(self.plan.params.get("force"))


def _int(form: dict[str, str], name: str, *, required: bool = False) -> int | None:
    """A whole number from the form, or None when left empty; 422 names the field."""
    text = form.get(name, "").strip().replace(",", "").replace("_", "")
    if not text:
        if required:
            raise Refused(actions.UNPROCESSABLE, f"{name} is required")
        return None
    if not text.isdigit():
        raise Refused(actions.UNPROCESSABLE, f"{name} must be a whole number, not {text!r}")
    return int(text)


def _text(form: dict[str, str], name: str, limit: int = 500) -> str | None:
    text = form.get(name, "").strip()
    if len(text) > limit:
        raise Refused(actions.UNPROCESSABLE, f"{name} has more than {limit} characters")
    return text or None


def add_routes(pages: APIRouter, services: Services, viewer: ViewerDep, csrf: auth.Csrf) -> None:
    """The opening, close-advice and plan pages and their acts, on the dashboard's router."""
    store = services.store
    Act = Annotated[Acting, Depends(actor(viewer, csrf))]
    Admin = Annotated[Viewer, Depends(admin_only(viewer))]
    Seen = Annotated[Viewer, Depends(viewer)]

    async def plans_of(seen: Viewer, kind: str) -> list[PlanRecord]:
        async with store.read() as reader:
            return [p for p in await lifecycle.plans(reader, seen.node_id) if p.kind == kind]

    @pages.get("/open", response_class=HTMLResponse)
    async def open_page(
        seen: Seen,
        budget_sat: int | None = None,
        count: int = DEFAULT_COUNT,
        fee_rate: int | None = None,
    ) -> HTMLResponse:
        found: Suggestion | None = None
        problem = None
        try:
            if not 1 <= count <= MAX_COUNT:
                raise OpenError(f"count {count}: give 1 to {MAX_COUNT}")
            if fee_rate is not None and not (
                MIN_FEE_RATE_SAT_PER_VB <= fee_rate <= MAX_FEE_RATE_SAT_PER_VB
            ):
                raise OpenError(
                    f"fee rate {fee_rate} sat/vB: give {MIN_FEE_RATE_SAT_PER_VB} to "
                    f"{MAX_FEE_RATE_SAT_PER_VB}, or leave it empty for the node's estimate"
                )
            # The one call behind `lnpilot open suggest` and the API: same ranking (our own
            # flows and failures included), the node's fee estimate unless one is given.
            found = await suggest_open(
                services.node,
                store,
                seen.node_id,
                seen.now,
                budget_sat=budget_sat,
                count=count,
                fee_rate_sat_per_vbyte=fee_rate,
                fee_rate_flag="the on-chain fee field",
            )
        except OpenError as exc:
            problem = str(exc)
        except NodeError as exc:
            problem = f"the node cannot be reached, and suggestions need its graph: {exc}"
        return render_page(
            "open.html",
            seen,
            found=found,
            problem=problem,
            form={"budget_sat": budget_sat, "count": count, "fee_rate": fee_rate},
            plans=await plans_of(seen, "open"),
            nav="open",
        )

    @pages.get("/open/plan", response_class=HTMLResponse)
    async def open_form(
        seen: Admin, peer: str = "", capacity_sat: int | None = None, fee_rate: int | None = None
    ) -> HTMLResponse:
        return render(
            "open_plan.html",
            peer=peer,
            capacity_sat=capacity_sat,
            fee_rate=fee_rate,
            seen=seen,
            now=seen.now,
            nav="open",
        )

    @pages.post("/open/plans")
    async def make_open_plan(act: Act) -> Response:
        form = act.form
        peer = form.get("peer", "").strip()

        async def work() -> str:
            async with audited(
                services, act.who, "open.plan", target=peer or None, detail=dict(VIA)
            ) as detail:
                capacity = _int(form, "capacity_sat", required=True)
                assert capacity is not None
                terms = OpenTerms(
                    fee_rate_ppm=_int(form, "fee_rate_ppm"),
                    base_fee_msat=_int(form, "base_fee_msat"),
                    cltv_delta=_int(form, "cltv_delta"),
                    min_htlc_msat=_int(form, "min_htlc_msat"),
                    max_htlc_msat=_int(form, "max_htlc_msat"),
                    name=_text(form, "name", 100),
                    note=_text(form, "note"),
                    contact=_text(form, "contact", 200),
                )
                try:
                    plan = await plan_open(
                        services.node,
                        store,
                        act.seen.node_id,
                        peer,
                        capacity,
                        by=act.who.name,
                        now=services.clock(),
                        terms=terms,
                        address=_text(form, "address", 300),
                        sat_per_vbyte=_int(form, "sat_per_vbyte"),
                    )
                except OpenError as exc:
                    raise Refused(actions.UNPROCESSABLE, str(exc)) from None
                assert plan.id is not None
                detail["plan_id"] = plan.id
            return f"/plans/{plan.id}"

        return await attempt(act, work)

    @pages.get("/close", response_class=HTMLResponse)
    async def close_page(seen: Seen, fee_rate: int | None = None) -> HTMLResponse:
        if fee_rate is not None and not (
            MIN_FEE_RATE_SAT_PER_VB <= fee_rate <= MAX_FEE_RATE_SAT_PER_VB
        ):
            fee_rate = None
        # As `lnpilot close advise` and the API: the graph's reach check, the node's estimate.
        try:
            found: list[Advice] = await close_advice(
                services.node,
                store,
                seen.node_id,
                seen.now,
                fee_rate_sat_per_vbyte=fee_rate,
                fee_rate_flag="the on-chain fee field",
            )
        except NodeError:
            async with store.read() as reader:
                found = await advise(reader, seen.node_id, seen.now, AdviseSettings())
        return render_page(
            "close.html",
            seen,
            advice=found,
            fee_rate=fee_rate,
            plans=await plans_of(seen, "close"),
            nav="close",
        )

    @pages.get("/close/plan", response_class=HTMLResponse)
    async def close_form(seen: Admin, scid: str = "") -> HTMLResponse:
        return render(
            "close_plan.html",
            scid=scid,
            deadline_min=int(DEFAULT_HTLC_DEADLINE.total_seconds() // 60),
            seen=seen,
            now=seen.now,
            nav="close",
        )

    @pages.post("/close/plans")
    async def make_close_plan(act: Act) -> Response:
        form = act.form
        scid = form.get("scid", "").strip()
        force = form.get("force") == "yes"

        async def work() -> str:
            async with audited(
                services, act.who, "close.plan", target=scid or None, detail={**VIA, "force": force}
            ) as detail:
                minutes = _int(form, "htlc_deadline_min") or int(
                    DEFAULT_HTLC_DEADLINE.total_seconds() // 60
                )
                if not 1 <= minutes <= 7 * 24 * 60:
                    raise Refused(actions.UNPROCESSABLE, "htlc_deadline_min: give 1 to 10080")
                rate = _int(form, "sat_per_vbyte")
                if rate is not None and not (
                    MIN_FEE_RATE_SAT_PER_VB <= rate <= MAX_FEE_RATE_SAT_PER_VB
                ):
                    raise Refused(
                        actions.UNPROCESSABLE,
                        f"sat_per_vbyte {rate}: give {MIN_FEE_RATE_SAT_PER_VB} to "
                        f"{MAX_FEE_RATE_SAT_PER_VB}",
                    )
                try:
                    plan = await plan_close(
                        services.node,
                        store,
                        act.seen.node_id,
                        scid,
                        by=act.who.name,
                        now=services.clock(),
                        sat_per_vbyte=rate,
                        force=force,
                        htlc_deadline=timedelta(minutes=minutes),
                    )
                except CloseError as exc:
                    raise Refused(actions.UNPROCESSABLE, str(exc)) from None
                assert plan.id is not None
                detail["plan_id"] = plan.id
            return f"/plans/{plan.id}"

        return await attempt(act, work)

    async def plan_view(plan_id: int) -> PlanView | None:
        if not is_store_id(plan_id):
            return None
        async with store.read() as reader:
            found = await lifecycle.plan(reader, plan_id)
            if found is None or found.kind not in ("open", "close"):
                return None
            return PlanView(found, await lifecycle.steps(reader, [plan_id]))

    @pages.get("/plans/{plan_id}", response_class=HTMLResponse)
    async def plan_page(seen: Seen, plan_id: int) -> HTMLResponse:
        found = await plan_view(plan_id)
        if found is None or found.plan.node_id != seen.node_id:
            return missing(f"plan {plan_id}", seen.now)
        return render_page("plan.html", seen, view=found, nav=found.plan.kind)

    @pages.post("/plans/{plan_id}/run")
    async def run_plan(act: Act, plan_id: int) -> Response:
        found = await plan_view(plan_id)
        if found is None or found.plan.node_id != act.seen.node_id:
            return refused(404, f"no open or close plan {plan_id}", act.seen)
        kind = found.plan.kind
        apply = act.form.get("apply") == "yes"
        approve_force = act.form.get("approve_force") == "yes"
        name = f"{kind}.run" if apply else f"{kind}.dry_run"
        try:
            actions.owner_only(services)
            async with audited(
                services,
                act.who,
                name,
                target=str(plan_id),
                detail={**VIA, "approve_force": approve_force},
            ) as detail:
                try:
                    if kind == "close":
                        report = await run_close(
                            services.node,
                            store,
                            plan_id,
                            by=act.who.name,
                            clock=services.clock,
                            apply=apply,
                            approve_force=approve_force,
                        )
                    else:
                        report = await run_open(
                            services.node,
                            store,
                            plan_id,
                            by=act.who.name,
                            clock=services.clock,
                            apply=apply,
                        )
                except (CloseError, OpenError) as exc:
                    raise Refused(actions.UNPROCESSABLE, str(exc)) from None
                except NodeError as exc:  # CapabilityMissing included
                    raise Refused(actions.CONFLICT, str(exc)) from None
                detail["steps"] = [f"{s.step}:{s.outcome}" for s in report.steps]
        except Refused as exc:
            return refused(exc.status, str(exc), act.seen)
        return to(f"/plans/{plan_id}")
