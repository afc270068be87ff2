"""Backtests on the dashboard's fees page: an admin starts one (the candidate policy's text,
days and seeds), every viewer follows it and reads the comparison once it is done.

The same act as ``POST /api/v1/backtests`` (``backtest.jobs``: one at a time, in a
process of its own, stored), audited as ``backtests.start`` with ``via: dashboard``. The
page of a running backtest reloads itself (the dashboard's meta refresh) until its report
is there; the comparison is read from that report (``lnpilot backtest --json``'s data).
"""

# No ``from __future__ import annotations``: FastAPI must see the local dependencies.
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from lnpilot.backtest import jobs
from lnpilot.backtest.jobs import (
    MAX_DAYS,
    MAX_RUNNING,
    MAX_SEEDS,
    MAX_WARMUP_DAYS,
    BacktestRequest,
)
from lnpilot.service.actions import Refused, audited
from lnpilot.service.context import Services
from lnpilot.store import backtests
from lnpilot.store.backtests import BacktestRecord
from lnpilot.store.coltypes import is_store_id
from lnpilot.web import auth
from lnpilot.web.acting import VIA, Acting, ViewerDep, actor, admin_only, attempt
from lnpilot.web.session import Viewer
from lnpilot.web.templating import missing, render_page

#: The form's defaults: a short backtest, enough seeds to believe its verdict.
DEFAULT_DAYS = 7.0
DEFAULT_SEEDS = 5
DEFAULT_WARMUP_DAYS = 2.0


@dataclass(frozen=True)
class ArmLine:
    """One figure of the comparison, mean over seeds, for each policy (msat)."""

    label: str
    current_msat: int
    candidate_msat: int

    @property
    def difference_msat(self) -> int:
        return self.candidate_msat - self.current_msat


@dataclass(frozen=True)
class ChannelLine:
    scid: str
    peer: str
    current_msat: int
    candidate_msat: int

    @property
    def difference_msat(self) -> int:
        return self.candidate_msat - self.current_msat


@dataclass(frozen=True)
class Comparison:
    """A finished backtest's report as the page shows it."""

    lines: list[ArmLine]
    channels: list[ChannelLine]
    verdict: str
    outcome: str
    decisions: list[dict[str, Any]]
    seeds: int


def _mean(values: list[int]) -> int:
    return sum(values) // len(values) if values else 0


def comparison(report: dict[str, Any]) -> Comparison:
    """Means over seeds of what each policy earned, spent and netted, per channel too."""
    cur, cand = report["current"], report["candidate"]

    def figure(arm: dict[str, Any], key: str) -> int:
        return _mean([f[key] for f in arm["figures"]])

    lines = [
        ArmLine(label, figure(cur, key), figure(cand, key))
        for label, key in (
            ("fees earned", "fees_earned_msat"),
            ("rebalancing cost", "rebalance_cost_msat"),
        )
    ]
    lines.append(
        ArmLine("net profit", _mean(cur["net_profit_msat"]), _mean(cand["net_profit_msat"]))
    )
    peers: dict[str, str] = report.get("peer_alias", {})
    channels = [
        ChannelLine(
            scid,
            peers.get(scid, ""),
            _mean(fees),
            _mean(cand["channel_fees_msat"].get(scid, [])),
        )
        for scid, fees in sorted(cur["channel_fees_msat"].items())
    ]
    verdict = report["verdict"]
    return Comparison(
        lines,
        channels,
        verdict["text"],
        verdict["outcome"],
        [{**d, "at": datetime.fromisoformat(d["at"])} for d in report.get("decisions", [])],
        len(report["options"]["seeds"]),
    )


def _policy_text(services: Services) -> str:
    """The daemon's policy file's text, to start the candidate from; "" without one."""
    path = services.settings.service.fees_policy_file
    try:
        return Path(path).read_text(encoding="utf-8") if path is not None else ""
    except OSError:
        return ""


def _number(text: str, name: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError:
        raise Refused(422, f"{name}: {text!r} is not a number") from None


def add_routes(pages: APIRouter, services: Services, viewer: ViewerDep, csrf: auth.Csrf) -> None:
    """The backtest form, its start and its page, on the dashboard's router."""
    store = services.store
    Act = Annotated[Acting, Depends(actor(viewer, csrf))]
    Admin = Annotated[Viewer, Depends(admin_only(viewer))]
    Seen = Annotated[Viewer, Depends(viewer)]

    @pages.get("/fees/backtests/new", response_class=HTMLResponse)
    async def backtest_form(seen: Admin) -> HTMLResponse:
        return render_page(
            "backtest_new.html",
            seen,
            policy=_policy_text(services),
            days=DEFAULT_DAYS,
            seeds=DEFAULT_SEEDS,
            warmup_days=DEFAULT_WARMUP_DAYS,
            max_running=MAX_RUNNING,
            max_days=MAX_DAYS,
            max_seeds=MAX_SEEDS,
            max_warmup_days=MAX_WARMUP_DAYS,
            nav="fees",
        )

    @pages.post("/fees/backtests")
    async def start_backtest(act: Act) -> Response:
        form = act.form
        name = form.get("name", "").strip() or "candidate"
        detail = {**VIA, "name": name, "days": form.get("days", ""), "seeds": form.get("seeds", "")}

        async def work() -> str:
            async with audited(services, act.who, "backtests.start", detail=detail) as found:
                request = BacktestRequest(
                    candidate_policy=form.get("candidate_policy", ""),
                    candidate_name=name,
                    days=_number(form.get("days", ""), "days", float),
                    seeds=int(_number(form.get("seeds", ""), "seeds", int)),
                    warmup_days=_number(form.get("warmup_days", ""), "warmup_days", float),
                )
                backtest_id = await jobs.start(services, act.who, request)
                found["backtest_id"] = backtest_id
            return f"/fees/backtests/{backtest_id}"

        return await attempt(act, work)

    @pages.get("/fees/backtests/{backtest_id}", response_class=HTMLResponse)
    async def backtest_page(seen: Seen, backtest_id: int) -> HTMLResponse:
        found: BacktestRecord | None = None
        if is_store_id(backtest_id):
            async with store.read() as reader:
                found = await backtests.get(reader, backtest_id)
        if found is None:
            return missing(f"backtest {backtest_id}", seen.now)
        shown = comparison(found.report) if found.report is not None else None
        return render_page("backtest.html", seen, backtest=found, comparison=shown, nav="fees")
