"""One rebalancing run end to end: gather, plan, journal, and in apply mode execute.

The node gives the channels as they are now (with both policies); the store gives what the
collector recorded (:func:`lnpilot.store.metrics.channel_metrics`: flows and fees per window) and
the rebalancing journal (spending, rebalances in flight, the last outcome per channel). The
plan is journaled whole, every channel's decision with its reason, before anything is sent.

Dry run is the default: the plan is journaled and nothing moves. In apply mode the orders
run concurrently, at most ``concurrency`` at a time, and never two on the same channel: a
:class:`Rebalancer` holds one lock per channel (taken for the source and the target, in
channel order so two rebalances cannot wait on each other) for as long as it lives, and the
journal's ``running`` rows keep other processes off those channels too. Each attempt goes
through :class:`StoreLedger`, which checks the budget again under the store's write lock
before the HTLC leaves.

Swaps (``[rebalance.swap] enabled``, with a :class:`~.swaps.SwapDesk`) are priced against
the circular rebalances (:mod:`.methods`) and count against the same budget. A swap is
irreversible: in apply mode it is created only when the run is approved by someone
(``approved_by``), else journaled ``needs_approval``; it is created through the desk
under the intent key ``rebalance:<decision id>``, so one plan step never makes two swaps,
and its channel counts as busy while the swap is open. Without a channel-targeted path
(LNbits alone) an apply run may still create swaps; circular moves are then unusable.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from lnpilot.lnbits.errors import LNbitsError
from lnpilot.node.backend import CapabilityMissing, NodeBackend, NodeError
from lnpilot.rebalance.budget import Spending, periods, room
from lnpilot.rebalance.candidates import ChannelInput
from lnpilot.rebalance.executor import (
    Attempt,
    Execution,
    Executor,
    RebalanceOutcome,
    executor_for,
)
from lnpilot.rebalance.methods import SwapOffer
from lnpilot.rebalance.planner import (
    Decision,
    RebalanceAction,
    RebalanceInputs,
    RebalancePlan,
    Request,
    Role,
    plan,
)
from lnpilot.rebalance.settings import RebalanceSettings
from lnpilot.rebalance.swaps import SwapDesk, SwapRequest
from lnpilot.store import Store, StoreReader, rebalances, swaps
from lnpilot.store.metrics import channel_metrics
from lnpilot.store.rebalances import AttemptRecord, RebalanceDecision, RebalanceRun
from lnpilot.store.records import JsonValue
from lnpilot.store.swaps import SwapRecord

#: A rebalance journaled as running, or an attempt of unknown outcome, keeps its channels
#: off limits for this long (then a crashed run no longer blocks them).
BUSY_FOR = timedelta(hours=1)


class RebalanceMode(enum.StrEnum):
    DRY_RUN = "dry-run"
    APPLY = "apply"


class NotCollected(Exception):
    """The store has never seen the node: there is no history to plan from."""


@dataclass(frozen=True)
class Executed:
    decision: Decision
    execution: Execution


@dataclass(frozen=True)
class SwapStarted:
    """A swap the run created (or found already created for its plan step)."""

    decision: Decision
    swap: SwapRecord


@dataclass(frozen=True)
class RebalanceReport:
    """A run: its plan, what was executed, and the executor (or why there is none)."""

    run_id: int
    node_id: int
    mode: RebalanceMode
    plan: RebalancePlan
    executor: str | None
    no_executor: str | None
    executed: tuple[Executed, ...]
    swaps: tuple[SwapStarted, ...] = ()


def utc_now() -> datetime:
    return datetime.now(UTC)


class Rebalancer:
    """Rebalancing of one node into one store; keep one per process (its channel locks and
    concurrency limit hold across runs). ``clock`` stamps runs (tests: a virtual clock)."""

    def __init__(
        self,
        node: NodeBackend,
        store: Store,
        settings: RebalanceSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        swap_desk: SwapDesk | None = None,
    ) -> None:
        self._node = node
        self._store = store
        self.settings = settings
        self._clock = clock
        self._desk = swap_desk
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._slots = asyncio.Semaphore(settings.section.concurrency)

    async def run(
        self,
        mode: RebalanceMode = RebalanceMode.DRY_RUN,
        *,
        trigger: str = "plan",
        request: Request = Request(),
        approved_by: str | None = None,
    ) -> RebalanceReport:
        """Plan now, journal the plan, and execute its orders in apply mode (its swaps only
        when ``approved_by`` names who approved them)."""
        section = self.settings.section
        swapping = section.swap.enabled and self._desk is not None
        executor: Executor | None = None
        no_executor: str | None = None
        try:
            executor = executor_for(
                self._node, timeout_s=section.timeout_s, max_attempts=section.max_attempts
            )
        except CapabilityMissing as exc:
            if mode is RebalanceMode.APPLY and not swapping:
                raise
            no_executor = str(exc)
        now = self._clock()
        inputs, node_id = await self._gather(now, request)
        if executor is None and swapping:
            inputs = replace(inputs, circular_unavailable=f"no executor: {no_executor}")
        decided = plan(inputs, self.settings)
        async with self._store.transaction() as tx:
            run_id, ids = await rebalances.record_run(
                tx,
                RebalanceRun(
                    node_id=node_id,
                    at=now,
                    mode=mode.value,
                    trigger=trigger,
                    budget_room_msat=decided.room.msat,
                    settings_digest=self.settings.digest,
                    executor=executor.name if executor is not None else None,
                    detail=_run_detail(inputs, decided, request),
                ),
                [_journal(d, mode, approved_by) for d in decided.decisions],
            )
        executed: tuple[Executed, ...] = ()
        if mode is RebalanceMode.APPLY and executor is not None:
            jobs = [
                self._execute(executor, node_id, decision_id, d, inputs.earned_msat)
                for decision_id, d in zip(ids, decided.decisions, strict=True)
                if d.order is not None
            ]
            executed = tuple(await asyncio.gather(*jobs))
        started: list[SwapStarted] = []
        if mode is RebalanceMode.APPLY and approved_by is not None and self._desk is not None:
            for decision_id, d in zip(ids, decided.decisions, strict=True):
                if d.swap is not None:
                    started.append(
                        await self._start_swap(self._desk, node_id, decision_id, d, approved_by)
                    )
        return RebalanceReport(
            run_id,
            node_id,
            mode,
            decided,
            executor.name if executor else None,
            no_executor,
            executed,
            tuple(started),
        )

    async def _start_swap(
        self, desk: SwapDesk, node_id: int, decision_id: int, decision: Decision, by: str
    ) -> SwapStarted:
        """Create the decision's swap once (intent key ``rebalance:<decision id>``) and
        journal the outcome on the decision."""
        order = decision.swap
        assert order is not None
        refund_address = self.settings.section.swap.refund_address
        started_at = self._clock()
        async with self._store.transaction() as tx:
            await rebalances.start_rebalance(tx, decision_id, started_at)
        failure: str | None = None
        try:
            if refund_address is None:
                raise ValueError("[rebalance.swap] refund_address is not set")
            record = await desk.start(
                SwapRequest("in", order.amount_sat, refund_address, order.quote.pair),
                intent_key=f"rebalance:{decision_id}",
                created_by="rebalancer",
                approved_by=by,
                node_id=node_id,
                chan_id=order.target.chan_id,
                quote=order.quote,
                cost_msat=order.cost_msat,
                reason=decision.reason,
            )
        except (LNbitsError, ValueError) as exc:
            failure = f"swap not created: {exc}"
            record = None
        finished_at = self._clock()
        outcome = "failed" if record is None else f"swap_{record.state}"
        async with self._store.transaction() as tx:
            await rebalances.finish_rebalance(
                tx,
                decision_id,
                outcome=outcome[:16],
                moved_msat=0,
                fee_paid_msat=0,
                failure=failure,
                finished_at=finished_at,
                duration_ms=int((finished_at - started_at).total_seconds() * 1000),
            )
        if record is None:
            now = self._clock()
            record = SwapRecord(
                intent_key=f"rebalance:{decision_id}",
                kind="in",
                state="failed",
                amount_sat=order.amount_sat,
                created_by="rebalancer",
                created_at=now,
                updated_at=now,
                detail={"failure": failure},
            )
        return SwapStarted(decision, record)

    async def _gather(self, now: datetime, request: Request) -> tuple[RebalanceInputs, int]:
        info = await self._node.get_info()
        channels = await self._node.get_policies(await self._node.list_channels())
        if request.chan_id is not None and request.chan_id not in {c.chan_id for c in channels}:
            raise ValueError(f"no open channel with id {request.chan_id}")
        settings = self.settings
        async with self._store.read() as reader:
            node_id = await reader.node_id(info.pubkey)
            if node_id is None:
                raise NotCollected(
                    f"the store has nothing of node {info.pubkey} yet: run lnpilot collect"
                )
            windows = sorted({settings.direction_window, settings.earned_window})
            metrics = {
                m.chan_id: m for m in await channel_metrics(reader, node_id, now, windows=windows)
            }
            earned_msat = sum(
                m.window(settings.earned_window).fees_earned_msat for m in metrics.values()
            )
            spent = await _spent(reader, node_id, periods(now, settings.earned_window))
            busy = await rebalances.busy_channels(reader, node_id, now - BUSY_FOR)
            busy |= await swaps.busy_channels(reader, node_id)
            last = await rebalances.last_rebalances(reader, node_id)
        items = tuple(
            ChannelInput(
                channel=c,
                metrics=metrics.get(c.chan_id) if c.chan_id is not None else None,
                last=last.get(c.chan_id) if c.chan_id is not None else None,
                busy=c.chan_id in busy
                or (c.chan_id is not None and self._locks[c.chan_id].locked()),
            )
            for c in channels
        )
        offer, unavailable = await self._swap_offer()
        inputs = RebalanceInputs(
            now,
            items,
            Spending(*spent),
            earned_msat,
            request,
            swap_offer=offer,
            swap_unavailable=unavailable,
        )
        return inputs, node_id

    async def _swap_offer(self) -> tuple[SwapOffer | None, str | None]:
        """The Boltz pair to price swaps on, or why there is none (asked once per run)."""
        swap = self.settings.section.swap
        if not swap.enabled:
            return None, None
        if self._desk is None:
            return None, "no LNbits client with the Boltz extension here"
        if swap.refund_address is None:
            return None, "[rebalance.swap] refund_address is not set: no swap can be created"
        try:
            pairs = await self._desk.pairs()
        except LNbitsError as exc:
            return None, f"Boltz pairs unavailable: {exc}"
        if swap.pair not in pairs:
            return None, f"pair {swap.pair!r} not offered (offered: {', '.join(sorted(pairs))})"
        return SwapOffer(swap.pair, pairs[swap.pair], swap.funding_fee_sat), None

    async def _execute(
        self,
        executor: Executor,
        node_id: int,
        decision_id: int,
        decision: Decision,
        earned_msat: int,
    ) -> Executed:
        order = decision.order
        assert order is not None and order.source.chan_id is not None
        assert order.target.chan_id is not None
        async with self._slots, self._holding(sorted({order.source.chan_id, order.target.chan_id})):
            async with self._store.transaction() as tx:
                await rebalances.start_rebalance(tx, decision_id, self._clock())
            ledger = StoreLedger(
                self._store, node_id, decision_id, self.settings, earned_msat, self._clock
            )
            try:
                execution = await executor.execute(order, ledger)
            except NodeError as exc:  # the node went away mid-order; what was sent is journaled
                execution = Execution(RebalanceOutcome.UNKNOWN, 0, 0, f"stopped: {exc}", (), 0)
            async with self._store.transaction() as tx:
                await rebalances.finish_rebalance(
                    tx,
                    decision_id,
                    outcome=execution.outcome.value,
                    moved_msat=execution.moved_msat,
                    fee_paid_msat=execution.fee_paid_msat,
                    failure=execution.failure,
                    finished_at=self._clock(),
                    duration_ms=execution.duration_ms,
                )
        return Executed(decision, execution)

    @contextlib.asynccontextmanager
    async def _holding(self, chan_ids: Sequence[int]) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for chan_id in chan_ids:
                await stack.enter_async_context(self._locks[chan_id])
            yield


class StoreLedger:
    """The executor's ledger in the journal; the budget is checked again per attempt."""

    def __init__(
        self,
        store: Store,
        node_id: int,
        decision_id: int,
        settings: RebalanceSettings,
        earned_msat: int,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._node_id = node_id
        self._decision_id = decision_id
        self._settings = settings
        self._earned_msat = earned_msat
        self._clock = clock

    async def reserve(self, attempt: Attempt) -> int | None:
        assert attempt.route is not None
        now = self._clock()
        async with self._store.transaction() as tx:
            await rebalances.lock(tx, self._node_id)
            since = periods(now, self._settings.earned_window)
            spent = Spending(*await _spent(tx, self._node_id, since))
            left = room(self._settings.budget, spent, self._earned_msat)
            if attempt.route.total_fees_msat > left.msat:
                return None
            return await rebalances.add_attempt(tx, self._row(attempt, now))

    async def record(self, attempt: Attempt) -> None:
        async with self._store.transaction() as tx:
            await rebalances.add_attempt(tx, self._row(attempt, self._clock()))

    async def settle(self, attempt_id: int, attempt: Attempt) -> None:
        async with self._store.transaction() as tx:
            await rebalances.settle_attempt(
                tx,
                attempt_id,
                outcome=attempt.outcome.value,
                fee_paid_msat=attempt.fee_paid_msat,
                failure=attempt.failure,
                failure_source_index=attempt.failure_source_index,
                failed_chan_id=attempt.failed_chan_id,
                duration_ms=attempt.duration_ms,
            )

    def _row(self, attempt: Attempt, at: datetime) -> AttemptRecord:
        return AttemptRecord(
            decision_id=self._decision_id,
            node_id=self._node_id,
            at=at,
            amount_msat=attempt.amount_msat,
            fee_limit_msat=attempt.fee_limit_msat,
            outcome=attempt.outcome.value,
            route_fee_msat=attempt.route_fee_msat,
            fee_paid_msat=attempt.fee_paid_msat,
            failure=attempt.failure,
            failure_source_index=attempt.failure_source_index,
            failed_chan_id=attempt.failed_chan_id,
            payment_hash=attempt.payment_hash,
            hops=attempt.hops,
            duration_ms=attempt.duration_ms,
        )


async def _spent(reader: StoreReader, node_id: int, since: Sequence[datetime]) -> list[int]:
    """What the budget counts since each start: rebalance fees and swap costs."""
    fees = await rebalances.spending(reader, node_id, since)
    costs = await swaps.spending(reader, node_id, since)
    return [a + b for a, b in zip(fees, costs, strict=True)]


def _journal(
    decision: Decision, mode: RebalanceMode, approved_by: str | None = None
) -> RebalanceDecision:
    """A decision as the journal keeps it; a planned rebalance is ``planned`` until it runs
    (``dry_run`` when it will not); a planned swap without an approval ``needs_approval``."""
    order, swap = decision.order, decision.swap
    if order is not None:
        outcome = "planned" if mode is RebalanceMode.APPLY else "dry_run"
    elif swap is not None:
        if mode is not RebalanceMode.APPLY:
            outcome = "dry_run"
        else:
            outcome = "planned" if approved_by is not None else "needs_approval"
    else:
        outcome = "skipped" if decision.action is RebalanceAction.SKIP else "none"
    band = decision.band
    channel = decision.channel
    return RebalanceDecision(
        role=decision.role.value,
        action=decision.action.value,
        reason=decision.reason,
        outcome=outcome,
        chan_id=channel.chan_id,
        scid=channel.scid,
        peer_pubkey=channel.peer_pubkey,
        direction=decision.direction.value if decision.direction else None,
        local_ratio_permille=decision.ratio_permille,
        band_low_permille=band.low_permille if band else None,
        band_high_permille=band.high_permille if band else None,
        source_chan_id=order.source.chan_id if order else None,
        source_scid=order.source.scid if order else None,
        amount_msat=order.amount_msat if order else (swap.amount_sat * 1000 if swap else None),
        max_fee_ppm=order.max_fee_ppm if order else None,
        fee_limit_msat=order.fee_limit_msat if order else (swap.cost_msat if swap else None),
        detail=decision.detail,
    )


def _run_detail(
    inputs: RebalanceInputs, decided: RebalancePlan, request: Request
) -> dict[str, JsonValue]:
    return {
        "summary": decided.summary(),
        "budget_binding": decided.room.binding,
        "spent_day_msat": inputs.spending.day_msat,
        "spent_month_msat": inputs.spending.month_msat,
        "spent_window_msat": inputs.spending.window_msat,
        "earned_msat": inputs.earned_msat,
        "request": {
            "chan_id": request.chan_id,
            "amount_msat": request.amount_msat,
            "max_fee_ppm": request.max_fee_ppm,
        },
        "targets": sum(1 for d in decided.decisions if d.role is Role.TARGET),
    }
