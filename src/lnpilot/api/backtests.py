"""Backtests: start one in the background (admin, audited), follow it, read its report.

A backtest runs the daemon's current policy (``[service] fees_policy_file``) and a candidate
given as the text of a policy file on a simulated copy of the node, as ``lnpilot backtest``
does (docs/backtest.md). It takes minutes, so ``POST`` answers at once (202) with the
backtest's id and state; ``GET /backtests/{id}`` shows its progress and, once done, its
report: ``lnpilot backtest --json``'s data. At most one runs at a time (409 beyond).
Nothing is applied to the node.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from lnpilot.api.deps import Admin, Reader, ServicesDep, StoreId, audited, errors
from lnpilot.backtest import jobs
from lnpilot.backtest.jobs import (
    MAX_DAYS,
    MAX_RUNNING,
    MAX_SEEDS,
    MAX_WARMUP_DAYS,
    BacktestRequest,
)
from lnpilot.node.backend import NodeError
from lnpilot.service.actions import Refused
from lnpilot.store import backtests
from lnpilot.store.backtests import BacktestRecord
from lnpilot.store.records import JsonValue

router = APIRouter(prefix="/backtests", tags=["backtests"], responses=errors(401, 422))


class BacktestIn(BaseModel):
    """A backtest to start: the candidate policy and how long and often to run both."""

    model_config = ConfigDict(extra="forbid")

    candidate_policy: str = Field(
        min_length=1,
        max_length=100_000,
        description="The candidate policy: the text of a policy file (fees.toml format). "
        "It must be a valid policy file (422 names its problems).",
    )
    name: str = Field(
        "candidate",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="The candidate's name in the report",
    )
    days: float = Field(7.0, gt=0, le=MAX_DAYS, description="Days of history fitted, and days run")
    seeds: int = Field(5, ge=1, le=MAX_SEEDS, description="Runs per policy, each with its own seed")
    warmup_days: float = Field(
        2.0, ge=0, le=MAX_WARMUP_DAYS, description="Collector-only days before each run"
    )


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary=f"Start a backtest in the background (at most {MAX_RUNNING} at a time)",
    responses=errors(403, 409, 503),
)
async def start(services: ServicesDep, token: Admin, body: BacktestIn) -> BacktestRecord:
    request = BacktestRequest(
        candidate_policy=body.candidate_policy,
        candidate_name=body.name,
        days=body.days,
        seeds=body.seeds,
        warmup_days=body.warmup_days,
    )
    detail: dict[str, JsonValue] = {"name": body.name, "days": body.days, "seeds": body.seeds}
    async with audited(services, token, "backtests.start", detail=detail) as found:
        try:
            backtest_id = await jobs.start(services, token, request)
        except Refused as exc:
            raise HTTPException(exc.status, str(exc)) from None
        except NodeError as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, f"the node cannot be reached: {exc}"
            ) from None
        found["backtest_id"] = backtest_id
    return await _one(services, backtest_id)


async def _one(services: ServicesDep, backtest_id: int) -> BacktestRecord:
    async with services.store.read() as reader:
        found = await backtests.get(reader, backtest_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no backtest {backtest_id}")
    return found


@router.get("", summary="The latest backtests, newest first, without their reports")
async def recent(
    services: ServicesDep, _: Reader, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[BacktestRecord]:
    async with services.store.read() as reader:
        return await backtests.recent(reader, limit=limit)


@router.get(
    "/{backtest_id}",
    summary="One backtest: its state, progress and, once done, its report",
    responses=errors(404),
)
async def one(services: ServicesDep, _: Reader, backtest_id: StoreId) -> BacktestRecord:
    return await _one(services, backtest_id)
