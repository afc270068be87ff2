"""The dashboard's actions, for an admin session: fee plans, rebalances, silences and
incident actions, each the same act as through the API (the same engine call, the same
``service.actions`` loading of the policy file, the same audit log entry).

The flow is the CLI's: plan (a journaled dry run, the default), then a confirmation page
that says what will happen, then the act, then the journaled result. Every POST here goes
through :func:`actor`: a session that may only read gets 403 (and its pages show no
buttons), a form without the session's CSRF token gets 403, and both are said in words.
The audit entry names the token, the action as the API names it, and ``via: dashboard``.
"""

# No ``from __future__ import annotations``: FastAPI must see the local dependencies.
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lnpilot.fees import RollbackError, evaluate
from lnpilot.fees import rollback as rollback_run
from lnpilot.monitor import IncidentError
from lnpilot.monitor.incidents import decide
from lnpilot.node.backend import CapabilityMissing, NodeError
from lnpilot.rebalance import RebalanceMode
from lnpilot.service import actions
from lnpilot.service.actions import Refused, audited
from lnpilot.service.context import Services
from lnpilot.store import fee_journal
from lnpilot.store.alerts import ActionState, Matcher, monitor_book
from lnpilot.store.coltypes import is_store_id
from lnpilot.store.records import JsonValue
from lnpilot.store.tokens import ApiToken
from lnpilot.web import auth, views
from lnpilot.web.session import Elsewhere, Viewer
from lnpilot.web.templating import PREFIX, missing, render, render_page

#: Every audit entry of a dashboard action says it came from here.
VIA: dict[str, JsonValue] = {"via": "dashboard"}
#: The silence lengths the form offers, by label; the API allows up to 90 days.
SILENCE_HOURS = {"1 hour": 1, "4 hours": 4, "1 day": 24, "3 days": 72, "7 days": 168}
#: The verdicts an operator gives an incident action from its page.
VERDICTS = {"approve": ActionState.APPROVED, "reject": ActionState.REJECTED}


@dataclass(frozen=True)
class Acting:
    """An admin session's POST that passed the CSRF check: who, and the form it sent."""

    seen: Viewer
    who: ApiToken
    form: dict[str, str]


ViewerDep = Callable[[Request], Awaitable[Viewer]]


def refused(status: int, message: str, seen: Viewer | None = None) -> HTMLResponse:
    """The page of an action that was not done: why, in one sentence, and the way back."""
    return render(
        "refused.html",
        status,
        message=message,
        now=seen.now if seen else None,
        outage=seen.outage if seen else None,
        nav="",
    )


def actor(viewer: ViewerDep, csrf: auth.Csrf) -> Callable[[Request], Awaitable[Acting]]:
    """The dependency of every POST that acts: signed in, admin, and the session's CSRF
    token in the form (or the ``X-CSRF-Token`` header)."""

    async def acting(request: Request) -> Acting:
        seen = await viewer(request)
        if not seen.admin or seen.who is None:
            name = seen.who.name if seen.who else "?"
            raise Elsewhere(
                refused(403, f"token {name!r} has the read scope; acting needs admin", seen)
            )
        form = auth.read_form(await request.body())
        given = form.get(auth.CSRF_FIELD) or request.headers.get(auth.CSRF_HEADER)
        if not csrf.matches(auth.session_of(request), given):
            raise Elsewhere(
                refused(
                    403,
                    "the form's CSRF token is missing or wrong (an old page, or a form from "
                    "another site): reload the page and try again",
                    seen,
                )
            )
        return Acting(seen, seen.who, form)

    return acting


def admin_only(viewer: ViewerDep) -> Callable[[Request], Awaitable[Viewer]]:
    """The dependency of a confirmation page: only an admin session is shown one."""

    async def confirming(request: Request) -> Viewer:
        seen = await viewer(request)
        if not seen.admin:
            name = seen.who.name if seen.who else "?"
            raise Elsewhere(
                refused(403, f"token {name!r} has the read scope; acting needs admin", seen)
            )
        return seen

    return confirming


def to(path: str) -> RedirectResponse:
    """After an act, the browser goes to its journaled result (303: a GET, so a reload
    does not act twice)."""
    return RedirectResponse(f"{PREFIX}{path}", status_code=303)


async def attempt(act: Acting, work: Callable[[], Awaitable[str]]) -> Response:
    """Do an act that may reach the node and answer the browser the one way every such act
    does: to the journaled result (the path ``work`` returns), or the page that says why it
    was not done: refused (its status), or the node unreachable (503)."""
    try:
        return to(await work())
    except Refused as exc:
        return refused(exc.status, str(exc), act.seen)
    except NodeError as exc:
        return refused(503, f"the node cannot be reached: {exc}", act.seen)


def add_routes(pages: APIRouter, services: Services, viewer: ViewerDep, csrf: auth.Csrf) -> None:
    """The action routes and their confirmation pages, on the dashboard's router."""
    store = services.store
    Act = Annotated[Acting, Depends(actor(viewer, csrf))]
    Admin = Annotated[Viewer, Depends(admin_only(viewer))]
    Seen = Annotated[Viewer, Depends(viewer)]

    # -- fees ---------------------------------------------------------------------------

    async def fee_run(act: Acting, *, apply: bool) -> Response:
        async def work() -> str:
            if apply:
                actions.owner_only(services)
            async with audited(
                services, act.who, "fees.apply" if apply else "fees.plan", detail=VIA
            ) as detail:
                report = await evaluate(
                    services.node,
                    store,
                    actions.fee_policy(services),
                    services.clock(),
                    apply=apply,
                )
                detail["run_id"] = report.run_id
            return f"/fees/{report.run_id}"

        return await attempt(act, work)

    @pages.post("/fees/plan")
    async def plan_fees(act: Act) -> Response:
        return await fee_run(act, apply=False)

    @pages.get("/fees/apply", response_class=HTMLResponse)
    async def confirm_fees(seen: Admin, plan: int | None = None) -> HTMLResponse:
        found = (
            await views.fee_run(store, seen.node_id, plan)
            if plan is not None and is_store_id(plan)
            else None
        )
        return render_page(
            "confirm.html",
            seen,
            title="Apply fees",
            action=f"{PREFIX}/fees/apply",
            button="Apply fees now",
            what=(
                "The fee engine plans again on the node's state now and sends the changes "
                "it decides, within the policy's safety limits and daily budget, then reads "
                "each back. The run is journaled, and can be rolled back."
            ),
            fee_plan=found,
            back=f"{PREFIX}/fees" + (f"/{plan}" if found else ""),
            nav="fees",
        )

    @pages.post("/fees/apply")
    async def apply_fees(act: Act) -> Response:
        return await fee_run(act, apply=True)

    @pages.get("/fees/{run_id}/rollback", response_class=HTMLResponse)
    async def confirm_rollback(seen: Admin, run_id: int) -> HTMLResponse:
        found = await views.fee_run(store, seen.node_id, run_id) if is_store_id(run_id) else None
        if found is None:
            return missing(f"fee run {run_id}", seen.now)
        return render_page(
            "confirm.html",
            seen,
            title=f"Roll back fee run #{run_id}",
            action=f"{PREFIX}/fees/{run_id}/rollback",
            button=f"Roll back run #{run_id}",
            what=(
                "The policies this run changed are set back to what they were before it. "
                "A channel whose policy changed again since is left alone unless you tick "
                "'force'."
            ),
            fee_plan=found,
            force_label="force: restore even where the policy changed again since",
            back=f"{PREFIX}/fees/{run_id}",
            nav="fees",
        )

    @pages.post("/fees/{run_id}/rollback")
    async def rollback(act: Act, run_id: int) -> Response:
        force = act.form.get("force") == "yes"
        async with store.read() as reader:
            known = is_store_id(run_id) and await fee_journal.get_run(reader, run_id) is not None
        if not known:
            return refused(404, f"no fee run {run_id}", act.seen)

        async def work() -> str:
            actions.owner_only(services)
            async with audited(
                services,
                act.who,
                "fees.rollback",
                target=f"run:{run_id}",
                detail={**VIA, "force": force},
            ) as detail:
                try:
                    report = await rollback_run(
                        services.node, store, run_id, services.clock(), force=force
                    )
                except RollbackError as exc:
                    raise Refused(actions.CONFLICT, str(exc)) from None
                detail["run_id"] = report.run_id
            return f"/fees/{report.run_id}"

        return await attempt(act, work)

    # -- rebalances ---------------------------------------------------------------------

    async def rebalance_run(act: Acting, mode: RebalanceMode) -> Response:
        action = "rebalances.run" if mode is RebalanceMode.APPLY else "rebalances.plan"

        async def work() -> str:
            if mode is RebalanceMode.APPLY:
                actions.owner_only(services)
            async with audited(services, act.who, action, detail=VIA) as detail:
                try:
                    report = await actions.rebalancer(services).run(
                        mode, trigger=f"dashboard:{act.who.name}"
                    )
                except CapabilityMissing as exc:
                    raise Refused(actions.CONFLICT, str(exc)) from None
                detail["run_id"] = report.run_id
            return f"/rebalances/runs/{report.run_id}"

        return await attempt(act, work)

    @pages.post("/rebalances/plan")
    async def plan_rebalances(act: Act) -> Response:
        return await rebalance_run(act, RebalanceMode.DRY_RUN)

    @pages.get("/rebalances/run", response_class=HTMLResponse)
    async def confirm_rebalances(seen: Admin, plan: int | None = None) -> HTMLResponse:
        found = (
            await views.rebalance_run(store, seen.node_id, plan)
            if plan is not None and is_store_id(plan)
            else None
        )
        return render_page(
            "confirm.html",
            seen,
            title="Run rebalances",
            action=f"{PREFIX}/rebalances/run",
            button="Run rebalances now",
            what=(
                "The rebalancer plans again on the node's state now and executes what it "
                "decides, paying routing fees within the policy's fee limit and the daily "
                "and monthly budget. Every decision is journaled with its reason."
            ),
            rebalance_plan=found,
            back=f"{PREFIX}/rebalances" + (f"/runs/{plan}" if found else ""),
            nav="rebalances",
        )

    @pages.post("/rebalances/run")
    async def run_rebalances(act: Act) -> Response:
        return await rebalance_run(act, RebalanceMode.APPLY)

    @pages.get("/rebalances/runs/{run_id}", response_class=HTMLResponse)
    async def rebalance_run_page(seen: Seen, run_id: int) -> HTMLResponse:
        found = (
            await views.rebalance_run(store, seen.node_id, run_id) if is_store_id(run_id) else None
        )
        if found is None:
            return missing(f"rebalancing run {run_id}", seen.now)
        return render_page("rebalance_run.html", seen, view=found, nav="rebalances")

    # -- alerts and incidents -----------------------------------------------------------

    @pages.get("/alerts/{alert_id}/silence", response_class=HTMLResponse)
    async def silence_form(seen: Admin, alert_id: int) -> HTMLResponse:
        async with monitor_book(store) as book:
            found = next(
                (a for a in await book.list_alerts(include_resolved=False) if a.id == alert_id),
                None,
            )
        if found is None:
            return missing(f"alert {alert_id} in force", seen.now)
        return render_page(
            "silence.html",
            seen,
            alert=found,
            matchers="\n".join(f"{k}={v}" for k, v in sorted(found.labels.items())),
            hours=SILENCE_HOURS,
            nav="alerts",
        )

    @pages.post("/alerts/silences")
    async def add_silence(act: Act) -> Response:
        lines = [line.strip() for line in act.form.get("matchers", "").splitlines()]
        texts = [line for line in lines if line]
        comment = act.form.get("comment", "").strip()
        hours_text = act.form.get("hours", "")
        detail: dict[str, JsonValue] = {
            **VIA,
            "matchers": list(texts),
            "hours": hours_text,
            "comment": comment,
        }
        try:
            async with audited(services, act.who, "alerts.silence", detail=detail) as found:
                hours = int(hours_text) if hours_text.isdigit() else 0
                if hours not in SILENCE_HOURS.values():
                    allowed = ", ".join(str(h) for h in SILENCE_HOURS.values())
                    raise Refused(actions.UNPROCESSABLE, f"hours must be one of {allowed}")
                if not texts or len(texts) > 20:
                    raise Refused(actions.UNPROCESSABLE, "give 1 to 20 matchers, one a line")
                if not 0 < len(comment) <= 500:
                    raise Refused(actions.UNPROCESSABLE, "give a comment of 1 to 500 characters")
                try:
                    matchers = [Matcher.parse(text) for text in texts]
                except ValueError as exc:
                    raise Refused(actions.UNPROCESSABLE, str(exc)) from None
                now = services.clock()
                async with monitor_book(store, write=True) as book:
                    silence = await book.add_silence(
                        matchers,
                        now,
                        now + timedelta(hours=hours),
                        created_by=act.who.name,
                        comment=comment,
                    )
                found["silence_id"] = silence.id
        except Refused as exc:
            return refused(exc.status, str(exc), act.seen)
        return to("/alerts")

    @pages.post("/incidents/{incident_id}/actions/{action_id}")
    async def decide_action(act: Act, incident_id: int, action_id: int) -> Response:
        verdict_text = act.form.get("verdict", "")
        # The action's name comes from the known verdicts only, never from the form's text.
        name = f"incidents.{verdict_text}" if verdict_text in VERDICTS else "incidents.decide"
        try:
            async with audited(
                services,
                act.who,
                name,
                target=f"incident:{incident_id}",
                detail={**VIA, "action_id": action_id},
            ):
                verdict = VERDICTS.get(verdict_text)
                if verdict is None:
                    raise Refused(actions.UNPROCESSABLE, "verdict must be approve or reject")
                if not (is_store_id(incident_id) and is_store_id(action_id)):
                    raise Refused(actions.NOT_FOUND, f"no incident {incident_id}")
                try:
                    await decide(
                        store, incident_id, action_id, verdict, act.who.name, services.clock()
                    )
                except IncidentError as exc:
                    raise Refused(actions.CONFLICT, str(exc)) from None
        except Refused as exc:
            return refused(exc.status, str(exc), act.seen)
        return to(f"/incidents/{incident_id}")
