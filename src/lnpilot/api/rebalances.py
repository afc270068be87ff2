"""Rebalances: plan (a journaled dry run), run (apply), the journal, and the history that says
whether each channel's rebalances paid for themselves. Writes need admin and are audited.

The settings are the ``[rebalance]`` table of the daemon's policy file, read at each call. A
rebalancer made here and the daemon's own never move the same channel at once: rebalances
under way are journaled as running, and every rebalancer keeps off those channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from lnpilot.api.channels import parse_scid
from lnpilot.api.deps import (
    SCID_SCHEMA,
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
from lnpilot.node.backend import CapabilityMissing
from lnpilot.rebalance import (
    Attempt,
    History,
    RebalanceMode,
    Rebalancer,
    history,
)
from lnpilot.service import actions
from lnpilot.service.context import Services
from lnpilot.store import rebalances
from lnpilot.store.rebalances import AttemptRecord, RebalanceDecision, RebalanceRun
from lnpilot.store.records import JsonValue

router = APIRouter(prefix="/rebalances", tags=["rebalances"], responses=errors(401, 422))


@dataclass(frozen=True)
class RunOut:
    """A run's every channel decision as journaled, with what became of it."""

    run_id: int
    decisions: list[RebalanceDecision]


@dataclass(frozen=True)
class AttemptOut:
    """One HTLC of a rebalance (or a try that found no route: ``route_fee_msat`` None);
    ``hops`` is the route as sent, ``[{"chan_id", "pubkey", "fee_msat"}, ...]``."""

    amount_msat: int
    fee_limit_msat: int
    outcome: str
    route_fee_msat: int | None
    fee_paid_msat: int | None
    failure: str | None
    failure_source_index: int | None
    failed_chan_id: int | None
    hops: list[JsonValue]
    duration_ms: int | None

    @classmethod
    def of(cls, attempt: Attempt | AttemptRecord) -> AttemptOut:
        """An attempt as journaled, or as the executor just made it (``lnpilot rebalance
        run --json`` shows those before reading the journal): both read alike."""
        return cls(
            amount_msat=attempt.amount_msat,
            fee_limit_msat=attempt.fee_limit_msat,
            outcome=str(attempt.outcome),
            route_fee_msat=attempt.route_fee_msat,
            fee_paid_msat=attempt.fee_paid_msat,
            failure=attempt.failure,
            failure_source_index=attempt.failure_source_index,
            failed_chan_id=attempt.failed_chan_id,
            hops=attempt.hops,
            duration_ms=attempt.duration_ms,
        )


@dataclass(frozen=True)
class RebalanceOut:
    """One executed rebalance as journaled; ``cost_msat`` counts the route fee of attempts
    whose outcome is unknown too (:attr:`lnpilot.rebalance.attribution.Rebalance.cost_msat`)."""

    id: int | None
    run_id: int | None
    started_at: datetime | None
    target_scid: str | None
    source_scid: str | None
    reason: str
    outcome: str
    amount_msat: int | None
    moved_msat: int | None
    fee_limit_msat: int | None
    fee_paid_msat: int | None
    cost_msat: int
    failure: str | None
    duration_ms: int | None
    attempts: list[AttemptOut]


@dataclass(frozen=True)
class ChannelPaidOut:
    """One target channel's rebalances summed: liquidity bought, its cost, what of it
    forwards sold since and the fees they earned (``net_msat`` = earned - cost)."""

    chan_id: int
    scid: str | None
    rebalances: int
    bought_msat: int
    cost_msat: int
    sold_msat: int
    earned_msat: int
    net_msat: int
    paid_for_itself: bool


@dataclass(frozen=True)
class HistoryOut:
    """The rebalances started in ``[since, until)``, and per target channel whether they
    paid for themselves: ``GET /rebalances/history`` and ``lnpilot rebalance history
    --json`` both answer it."""

    since: datetime
    until: datetime
    rebalances: list[RebalanceOut]
    channels: list[ChannelPaidOut]
    cost_msat: int
    earned_msat: int
    paid_for_itself: bool

    @classmethod
    def of(cls, found: History) -> HistoryOut:
        """The history's API shape; channels in the order of their short ids' numbers."""
        scids = {r.decision.chan_id: r.decision.scid for r in found.rebalances}
        return cls(
            since=found.since,
            until=found.until,
            rebalances=[
                RebalanceOut(
                    id=r.decision.id,
                    run_id=r.decision.run_id,
                    started_at=r.decision.started_at,
                    target_scid=r.decision.scid,
                    source_scid=r.decision.source_scid,
                    reason=r.decision.reason,
                    outcome=r.decision.outcome,
                    amount_msat=r.decision.amount_msat,
                    moved_msat=r.decision.moved_msat,
                    fee_limit_msat=r.decision.fee_limit_msat,
                    fee_paid_msat=r.decision.fee_paid_msat,
                    cost_msat=r.cost_msat,
                    failure=r.decision.failure,
                    duration_ms=r.decision.duration_ms,
                    attempts=[AttemptOut.of(a) for a in r.attempts],
                )
                for r in found.rebalances
            ],
            channels=[
                ChannelPaidOut(
                    chan_id=a.chan_id,
                    scid=scids.get(a.chan_id),
                    rebalances=a.rebalances,
                    bought_msat=a.bought_msat,
                    cost_msat=a.cost_msat,
                    sold_msat=a.sold_msat,
                    earned_msat=a.earned_msat,
                    net_msat=a.net_msat,
                    paid_for_itself=a.paid_for_itself,
                )
                for a in sorted(found.channels.values(), key=lambda a: a.chan_id)
            ],
            cost_msat=found.cost_msat,
            earned_msat=found.earned_msat,
            paid_for_itself=found.earned_msat >= found.cost_msat,
        )


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
async def run(services: ServicesDep, token: Owner, _body: NoBody = None) -> RunOut:
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
    return HistoryOut.of(found)
