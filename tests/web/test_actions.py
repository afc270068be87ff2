"""The dashboard's actions over plain HTTP, on a live simulated node: who may act (an admin
session with the session's CSRF token; a read session gets 403 and sees no buttons), the
plan -> confirm -> result flow of fees, rebalances, silences, incident actions and channel
opens and closes, and the audit log, which records each like the API's writes.

The node is the collector fixtures' network (our node behind its real LND REST face), with
a hub and a lone node we have no channel with (to open to). The app is the API's own,
served over ASGI; the browser tests of the same pages are in ``test_actions_browser.py``.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx

from lnpilot.store import audit, fee_journal, lifecycle, rebalances
from lnpilot.store.alerts import ActionState, monitor_book
from lnpilot.web import auth

from .live import Live, live

__all__ = ["live"]


@asynccontextmanager
async def session(live: Live, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client signed in with ``token`` through the dashboard's link."""
    transport = httpx.ASGITransport(app=live.app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://lnpilot.test", follow_redirects=False
    ) as http:
        answer = await http.get(f"/dashboard/?token={token}")
        assert answer.status_code == 303 and auth.COOKIE in answer.headers["set-cookie"]
        yield http


def csrf_of(page: str) -> str:
    """The CSRF token the page's action forms carry (one per session)."""
    found = set(re.findall(r'name="csrf" value="([0-9a-f]+)"', page))
    assert len(found) == 1, found
    return found.pop()


async def audit_log(live: Live) -> list[audit.AuditEntry]:
    async with live.store.read() as reader:
        return await audit.entries(reader, limit=500)


async def our_fee_rates(live: Live) -> set[int]:
    """Our outbound fee rates as the node reports them (read back, not from the store)."""
    channels = await live.sim.lnd.list_channels()
    policies = await live.sim.lnd.get_policies(channels)
    return {p.local_policy.fee_rate_ppm for p in policies if p.local_policy is not None}


def refusal(answer: httpx.Response) -> str:
    found = re.search(r'<p class="error" id="refusal">(.*?)</p>', answer.text, re.S)
    assert found is not None, answer.text[:500]
    return html.unescape(found.group(1))


POSTS = (
    "/fees/plan",
    "/fees/apply",
    "/fees/1/rollback",
    "/rebalances/plan",
    "/rebalances/run",
    "/alerts/silences",
    "/incidents/1/actions/1",
    "/open/plans",
    "/close/plans",
    "/plans/1/run",
)


async def test_a_read_session_sees_no_action_and_every_post_is_403(live: Live) -> None:
    before = len(await audit_log(live))
    async with session(live, live.read_token) as http:
        for path in (
            "/fees",
            "/rebalances",
            "/alerts",
            f"/incidents/{live.incident_id}",
            "/close",
            "/open",
        ):
            page = await http.get(f"/dashboard{path}")
            assert page.status_code == 200, path
            assert 'name="csrf"' not in page.text, path
            assert "Plan fees now" not in page.text and "Silence…" not in page.text
            assert "Approve" not in page.text and "Plan close…" not in page.text
        for path in ("/fees/apply", f"/alerts/{live.alert_id}/silence", "/close/plan"):
            answer = await http.get(f"/dashboard{path}")
            assert answer.status_code == 403, path
        for path in POSTS:
            answer = await http.post(f"/dashboard{path}", data={"csrf": "0" * 64})
            assert answer.status_code == 403, path
            assert "'web-viewer' has the read scope; acting needs admin" in refusal(answer)
    assert len(await audit_log(live)) == before  # refused before anything was attempted


async def test_an_admin_post_needs_its_own_sessions_csrf_token(live: Live) -> None:
    async with live.store.read() as reader:
        runs_before = len(await fee_journal.runs(reader, live.node_id, limit=500))
    async with session(live, live.admin_token) as http, session(live, live.admin_token) as other:
        mine = csrf_of((await http.get("/dashboard/fees")).text)
        theirs = csrf_of((await other.get("/dashboard/fees")).text)
        assert mine != theirs  # per session: a second sign-in gets another cookie
        for form in ({}, {"csrf": ""}, {"csrf": theirs}, {"csrf": mine[:-1] + "x"}):
            answer = await http.post("/dashboard/fees/plan", data=form)
            assert answer.status_code == 403, form
            assert "CSRF token is missing or wrong" in refusal(answer)
        async with live.store.read() as reader:
            runs = await fee_journal.runs(reader, live.node_id, limit=500)
        assert len(runs) == runs_before  # nothing ran
        answer = await http.post(
            "/dashboard/fees/plan", headers={auth.CSRF_HEADER: mine}, content=b""
        )
        assert answer.status_code == 303  # a script may send it as a header


async def test_fees_plan_then_confirm_apply_then_roll_back(live: Live) -> None:
    async with session(live, live.admin_token) as http:
        token = csrf_of((await http.get("/dashboard/fees")).text)
        assert 321 not in await our_fee_rates(live)
        planned = await http.post("/dashboard/fees/plan", data={"csrf": token})
        assert planned.status_code == 303
        plan_id = int(planned.headers["location"].rsplit("/", 1)[1])
        async with live.store.read() as reader:
            run = await fee_journal.get_run(reader, plan_id)
        assert run is not None and run.mode == "dry-run"
        assert 321 not in await our_fee_rates(live)  # the default is a dry run

        page = (await http.get(planned.headers["location"])).text
        assert f'href="/dashboard/fees/apply?plan={plan_id}"' in page
        confirm = await http.get(f"/dashboard/fees/apply?plan={plan_id}")
        assert confirm.status_code == 200 and "Apply fees now" in confirm.text
        assert "321" in confirm.text  # the plan's changes are shown before confirming

        applied = await http.post("/dashboard/fees/apply", data={"csrf": token})
        assert applied.status_code == 303
        apply_id = int(applied.headers["location"].rsplit("/", 1)[1])
        assert await our_fee_rates(live) == {321}
        page = (await http.get(applied.headers["location"])).text
        assert f'href="/dashboard/fees/{apply_id}/rollback"' in page
        assert (await http.get(f"/dashboard/fees/{apply_id}/rollback")).status_code == 200
        rolled = await http.post(f"/dashboard/fees/{apply_id}/rollback", data={"csrf": token})
        assert rolled.status_code == 303
        assert 321 not in await our_fee_rates(live)
        again = await http.post(f"/dashboard/fees/{plan_id}/rollback", data={"csrf": token})
        assert again.status_code == 409 and "dry run" in refusal(again)

    entries = [e for e in await audit_log(live) if e.action.startswith("fees.")][:4]
    assert [(e.action, e.outcome) for e in entries] == [
        ("fees.rollback", "refused"),
        ("fees.rollback", "ok"),
        ("fees.apply", "ok"),
        ("fees.plan", "ok"),
    ]
    assert {e.actor for e in entries} == {"web-operator"}
    assert all(e.detail["via"] == "dashboard" for e in entries)
    assert entries[2].detail["run_id"] == apply_id and entries[3].detail["run_id"] == plan_id


async def test_rebalances_plan_then_run_within_the_budget(live: Live) -> None:
    async with session(live, live.admin_token) as http:
        token = csrf_of((await http.get("/dashboard/rebalances")).text)
        planned = await http.post("/dashboard/rebalances/plan", data={"csrf": token})
        assert planned.status_code == 303
        assert planned.headers["location"].startswith("/dashboard/rebalances/runs/")
        page = await http.get(planned.headers["location"])
        assert page.status_code == 200 and "Run rebalances…" in page.text
        assert "dry-run" in page.text and "asked by dashboard:web-operator" in page.text
        assert (await http.get("/dashboard/rebalances/run")).status_code == 200
        ran = await http.post("/dashboard/rebalances/run", data={"csrf": token})
        assert ran.status_code == 303
        run_id = int(ran.headers["location"].rsplit("/", 1)[1])
    async with live.store.read() as reader:
        [latest] = await rebalances.runs(reader, live.node_id, limit=1)
    assert (latest.id, latest.mode, latest.trigger) == (run_id, "apply", "dashboard:web-operator")
    actions = [e.action for e in await audit_log(live) if e.action.startswith("rebalances.")]
    assert actions[:2] == ["rebalances.run", "rebalances.plan"]


async def test_an_alert_is_silenced_from_its_form(live: Live) -> None:
    async with session(live, live.admin_token) as http:
        alerts = (await http.get("/dashboard/alerts")).text
        assert f'href="/dashboard/alerts/{live.alert_id}/silence"' in alerts
        form = await http.get(f"/dashboard/alerts/{live.alert_id}/silence")
        assert form.status_code == 200 and "scid=800000x3x0" in form.text
        token = csrf_of(form.text)
        good = {"csrf": token, "matchers": "alertname=peer_offline\nscid=800000x3x0"}
        for bad, words in (
            ({"hours": "5", "comment": "x"}, "hours must be one of 1, 4, 24, 72, 168"),
            ({"hours": "4", "comment": ""}, "give a comment of 1 to 500 characters"),
            ({"hours": "4", "comment": "x", "matchers": "scid=~("}, "scid"),
        ):
            answer = await http.post("/dashboard/alerts/silences", data={**good, **bad})
            assert answer.status_code == 422, bad
            assert words in refusal(answer)
        done = await http.post(
            "/dashboard/alerts/silences", data={**good, "hours": "4", "comment": "dave reboots"}
        )
        assert done.status_code == 303 and done.headers["location"] == "/dashboard/alerts"
    async with monitor_book(live.store) as book:
        [silence] = await book.silences(active_at=live.sim.now)
    assert (silence.created_by, silence.comment) == ("web-operator", "dave reboots")
    assert silence.ends_at - silence.starts_at == timedelta(hours=4)
    assert [str(m) for m in silence.matchers] == ["alertname=peer_offline", "scid=800000x3x0"]
    outcomes = [e.outcome for e in await audit_log(live) if e.action == "alerts.silence"]
    assert outcomes[:4] == ["ok", "refused", "refused", "refused"]


async def test_incident_actions_are_approved_and_rejected_from_its_page(live: Live) -> None:
    async with monitor_book(live.store) as book:
        plan = await book.actions(live.incident_id)
    by_kind = {a.kind: a for a in plan}
    disable, manual, close = by_kind["disable_channel"], by_kind["manual"], by_kind["close_channel"]
    path = f"/dashboard/incidents/{live.incident_id}/actions"
    async with session(live, live.admin_token) as http:
        page = (await http.get(f"/dashboard/incidents/{live.incident_id}")).text
        assert page.count(">Approve</button>") == 2  # not the one for a person
        assert page.count(">Reject</button>") == 3
        token = csrf_of(page)
        for action, verdict in ((disable, "approve"), (close, "reject")):
            answer = await http.post(
                f"{path}/{action.id}", data={"csrf": token, "verdict": verdict}
            )
            assert answer.status_code == 303
        refused = await http.post(f"{path}/{manual.id}", data={"csrf": token, "verdict": "approve"})
        assert refused.status_code == 409 and "mark it done instead" in refusal(refused)
        wrong = await http.post(f"{path}/{manual.id}", data={"csrf": token, "verdict": "maybe"})
        assert wrong.status_code == 422 and "approve or reject" in refusal(wrong)
    async with monitor_book(live.store) as book:
        states = {a.kind: a.state for a in await book.actions(live.incident_id)}
        timeline = await book.timeline(live.incident_id)
    assert states["disable_channel"] is ActionState.APPROVED
    assert states["close_channel"] is ActionState.REJECTED
    assert states["manual"] is ActionState.PROPOSED
    assert [e.author for e in timeline if e.kind.startswith("action_")] == ["web-operator"] * 2
    decided = [
        (e.action, e.outcome)
        for e in await audit_log(live)
        if e.target == f"incident:{live.incident_id}"
    ]
    assert decided == [  # newest first; the form's own text never names the action
        ("incidents.decide", "refused"),
        ("incidents.approve", "refused"),
        ("incidents.reject", "ok"),
        ("incidents.approve", "ok"),
    ]


async def test_close_advice_plan_dry_run_and_a_force_close_needs_its_second_approval(
    live: Live,
) -> None:
    async with session(live, live.admin_token) as http:
        advice = (await http.get("/dashboard/close")).text
        assert advice.count("Plan close…") == 6 and "<strong>keep</strong>" in advice
        form = await http.get("/dashboard/close/plan?scid=800000x4x0")
        token = csrf_of(form.text)
        bad = await http.post("/dashboard/close/plans", data={"csrf": token, "scid": "8x"})
        assert bad.status_code == 422
        made = await http.post(
            "/dashboard/close/plans", data={"csrf": token, "scid": "800000x4x0", "force": "yes"}
        )
        assert made.status_code == 303
        plan_id = int(made.headers["location"].rsplit("/", 1)[1])
        page = (await http.get(made.headers["location"])).text
        assert "second approval: I approve a force close" in page
        run = f"/dashboard/plans/{plan_id}/run"
        for form in ({"apply": "yes"}, {}):  # neither a run nor a dry run without it
            refused = await http.post(run, data={"csrf": token, **form})
            assert refused.status_code == 303
        dry = await http.post(run, data={"csrf": token, "approve_force": "yes"})
        assert dry.status_code == 303
        async with live.store.read() as reader:
            journal = await lifecycle.steps(reader, [plan_id])
        assert [s.outcome for s in journal][-3:] == ["refused", "refused", "dry_run"]
        assert "needs its second approval" in journal[-2].reason
        assert {s.approved_by for s in journal[-3:]} == {"web-operator"}
        assert "needs its second approval" in (await http.get(made.headers["location"])).text
        # a cooperative close, run on the node: every step approved by the session's token
        coop = await http.post("/dashboard/close/plans", data={"csrf": token, "scid": "800000x6x0"})
        coop_id = int(coop.headers["location"].rsplit("/", 1)[1])
        ran = await http.post(
            f"/dashboard/plans/{coop_id}/run", data={"csrf": token, "apply": "yes"}
        )
        assert ran.status_code == 303
    async with live.store.read() as reader:
        journal = await lifecycle.steps(reader, [coop_id])
    done = [(s.step, s.approved_by) for s in journal if s.outcome == "done"]
    assert done == [(step, "web-operator") for step in ("disable", "settle", "close", "cleanup")], (
        journal
    )
    assert [e.action for e in await audit_log(live) if e.action.startswith("close.")][:2] == [
        "close.run",
        "close.plan",
    ]


async def test_open_suggestions_plan_and_dry_run(live: Live) -> None:
    async with session(live, live.admin_token) as http:
        page = (await http.get("/dashboard/open?budget_sat=2000000&count=5")).text
        assert re.findall(r'<td title="[0-9a-f]{66}">(\w+)</td>', page) == ["hub", "lone"]
        assert f"/dashboard/open/plan?peer={live.hub}&capacity_sat=" in page
        bad = (await http.get("/dashboard/open?budget_sat=100")).text
        assert "raise the budget" in bad
        form = await http.get(f"/dashboard/open/plan?peer={live.hub}&capacity_sat=500000")
        token = csrf_of(form.text)
        fields = {"csrf": token, "peer": live.hub, "address": "hub.example:9735"}
        small = await http.post("/dashboard/open/plans", data={**fields, "capacity_sat": "10000"})
        assert small.status_code == 422 and "below LND's minimum" in refusal(small)
        words = await http.post("/dashboard/open/plans", data={**fields, "capacity_sat": "lots"})
        assert words.status_code == 422 and "capacity_sat must be a whole number" in refusal(words)
        made = await http.post(
            "/dashboard/open/plans",
            data={**fields, "capacity_sat": "500,000", "fee_rate_ppm": "250", "name": "hub"},
        )
        assert made.status_code == 303
        plan_id = int(made.headers["location"].rsplit("/", 1)[1])
        dry = await http.post(f"/dashboard/plans/{plan_id}/run", data={"csrf": token})
        assert dry.status_code == 303
        page = (await http.get(f"/dashboard/plans/{plan_id}")).text
        assert "Open plan #" in page and "dry_run" in page
    async with live.store.read() as reader:
        plan = await lifecycle.plan(reader, plan_id)
    assert plan is not None and plan.params["capacity_sat"] == 500_000
    assert plan.created_by == "web-operator" and plan.next_step == "connect"  # nothing sent


async def test_the_pnl_page_adds_up_the_stores_fees(live: Live) -> None:
    async with live.store.read() as reader:
        rows, total = await reader.forwards_page(
            live.node_id, live.sim.now - timedelta(days=30), live.sim.now, limit=1000, offset=0
        )
    assert total == 20
    earned_msat = sum(f.fee_msat for f in rows)
    async with session(live, live.read_token) as http:
        page = (await http.get("/dashboard/pnl?range=30d&period=day")).text
        assert (await http.get("/dashboard/pnl?range=2d")).status_code == 404
    figure = re.search(r'id="pnl-earned">([^<]+)<', page)
    net = re.search(r'id="pnl-net">([^<]+)<', page)
    assert figure is not None and net is not None
    assert figure.group(1) == f"{earned_msat // 1000:,}"
    assert "800000x1x0" in page and "800000x2x0" in page  # the channels that earned


async def test_a_standby_dashboard_shows_but_does_not_act(live: Live) -> None:
    """Another daemon owns the node: the pages and dry-run plans are served, an apply is
    refused with 503 and the reason, and nothing reaches the node or the journal."""
    health, now = live.services.health, live.sim.now
    health.register("ownership", 30)
    health.started("ownership", now)
    health.waiting("ownership", now, 0.01, "standby: another daemon holds this node's lock")
    try:
        async with session(live, live.admin_token) as http:
            token = csrf_of((await http.get("/dashboard/fees")).text)
            async with live.store.read() as reader:
                before = await fee_journal.runs(reader, live.node_id, limit=100)
            planned = await http.post("/dashboard/fees/plan", data={"csrf": token})
            assert planned.status_code == 303  # a dry run is no act on the node
            applied = await http.post("/dashboard/fees/apply", data={"csrf": token})
            assert applied.status_code == 503 and "standby" in refusal(applied)
            assert 321 not in await our_fee_rates(live)
            async with live.store.read() as reader:
                after = await fee_journal.runs(reader, live.node_id, limit=100)
            assert [r.mode for r in after[: len(after) - len(before)]] == ["dry-run"]
    finally:  # the fixture's other tests run as the owner again
        health.started("ownership", now)
        health.succeeded("ownership", now, 0.01)
