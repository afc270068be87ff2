"""Closing a channel as an ordered, stored, resumable procedure.

A plan is made first (``plan_close``): which channel, at what fee rate, how long HTLCs may
take to settle, whether a force close was asked for, and the channel as it was then (its
*basis*). Running it (``run_close``) takes the steps in order, each journaled with its
reason and who approved it:

1. **disable**: our direction is disabled, so no new HTLC enters the channel. Before it,
   the plan is checked against the node: a channel whose state, capacity or balances
   changed since planning, or a plan older than ``MAX_PLAN_AGE``, is refused (re-plan);
2. **settle**: the HTLCs in flight are waited for, up to the plan's deadline; each check is
   one read of the node, so a caller polls (the CLI's ``--wait``) and a crash loses nothing;
3. **close**: cooperative, at the plan's fee rate where the backend can set it; a force
   close only when the plan asked for it *and* the run carries a second approval. If the
   node already lists the channel as closing (a crash after the close was sent), the step
   is recorded as done instead of closing a second time;
4. **cleanup**: the channel left the node's open channels, so the fee and rebalance engines
   (which act on those only) leave it; its agreements are archived; its final accounting
   (earned, rebalancing spent, estimated on-chain fee, lifetime) is recorded in the plan.

The plan's ``next_step`` is where a run resumes. Without ``apply`` nothing is sent: the
run journals what it would do.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from lnpilot.base.domain import Capability, Channel, ChannelState, chan_id_from_scid
from lnpilot.node.backend import NodeBackend
from lnpilot.store import Store, StoreTransaction, lifecycle, rebalances
from lnpilot.store.levels import EPOCH
from lnpilot.store.lifecycle import PlanRecord, StepRecord
from lnpilot.store.records import JsonValue

KIND = "close"
#: A plan older than this is out of date whatever the channel did.
MAX_PLAN_AGE = timedelta(hours=24)
#: Fee rates a plan accepts (sat/vB): below 1 no node relays it, above this it is a typo.
MIN_FEE_RATE_SAT_PER_VB = 1
MAX_FEE_RATE_SAT_PER_VB = 1000
#: A cooperative close spends the 2-of-2 funding output to (at most) two outputs: about
#: 170 vB with P2WPKH/P2TR outputs; what the on-chain cost estimate multiplies the rate by.
COOP_CLOSE_VBYTES = 170
DEFAULT_HTLC_DEADLINE = timedelta(hours=1)


class Step(enum.StrEnum):
    DISABLE = "disable"
    SETTLE = "settle"
    CLOSE = "close"
    CLEANUP = "cleanup"


ORDER = (Step.DISABLE, Step.SETTLE, Step.CLOSE, Step.CLEANUP)


class PlanState(enum.StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    DONE = "done"
    STALE = "stale"


class Outcome(enum.StrEnum):
    PLANNED = "planned"
    DONE = "done"
    WAITING = "waiting"
    DEADLINE = "deadline"
    REFUSED = "refused"
    DRY_RUN = "dry_run"
    #: a step the backend cannot take (the LNbits node API), with what that leaves undone
    SKIPPED = "skipped"


class CloseError(ValueError):
    """A plan that cannot be made or run as asked; the message says what to change."""


@dataclass(frozen=True)
class RunReport:
    """What one run did: the plan as it is now, and the journal lines this run wrote."""

    plan: PlanRecord
    steps: list[StepRecord]

    @property
    def finished(self) -> bool:
        return self.plan.state == PlanState.DONE


@dataclass
class Journal:
    """Writes a run's journal lines, each in its own transaction (so a crash keeps them),
    and keeps them for the run's report."""

    store: Store
    plan_id: int
    by: str
    clock: Callable[[], datetime]
    written: list[StepRecord]

    async def __call__(self, step: str, outcome: Outcome, reason: str, **detail: JsonValue) -> None:
        record = StepRecord(self.plan_id, self.clock(), step, outcome, reason, self.by, detail)
        async with self.store.transaction() as tx:
            await lifecycle.add_step(tx, record)
        self.written.append(record)


async def plan_close(
    node: NodeBackend,
    store: Store,
    node_id: int,
    scid: str,
    *,
    by: str,
    now: datetime,
    sat_per_vbyte: int | None = None,
    force: bool = False,
    htlc_deadline: timedelta = DEFAULT_HTLC_DEADLINE,
) -> PlanRecord:
    """Store a close plan for the open channel ``scid``, from the node's channel as it is."""
    try:
        chan_id = chan_id_from_scid(scid)
    except ValueError as exc:
        raise CloseError(str(exc)) from None
    if sat_per_vbyte is not None:
        if force:
            raise CloseError("a force close cannot be given a fee rate: its commitment has one")
        if not MIN_FEE_RATE_SAT_PER_VB <= sat_per_vbyte <= MAX_FEE_RATE_SAT_PER_VB:
            raise CloseError(
                f"fee rate {sat_per_vbyte} sat/vB is out of range: give "
                f"{MIN_FEE_RATE_SAT_PER_VB} to {MAX_FEE_RATE_SAT_PER_VB}"
            )
        if not node.close_fee_rate_settable():
            raise CloseError(
                f"the {node.name} backend cannot set a close's fee rate: leave it out (the "
                "node chooses) or configure LND REST"
            )
    if htlc_deadline <= timedelta(0):
        raise CloseError("the HTLC deadline must be positive")
    channel = await _open_channel(node, chan_id, scid)
    params: dict[str, JsonValue] = {
        "sat_per_vbyte": sat_per_vbyte,
        "force": force,
        "htlc_deadline_s": int(htlc_deadline.total_seconds()),
    }
    plan = PlanRecord(
        node_id=node_id,
        kind=KIND,
        created_at=now,
        created_by=by,
        updated_at=now,
        state=PlanState.PLANNED,
        next_step=Step.DISABLE,
        peer_pubkey=channel.peer_pubkey,
        chan_id=chan_id,
        scid=scid,
        channel_point=channel.channel_point,
        params=params,
        basis=_basis(channel),
    )
    how = "force" if force else f"cooperative at {_rate(sat_per_vbyte)}"
    reason = f"close {scid} ({how}), HTLCs given {_span(htlc_deadline)} to settle"
    return await store_plan(store, plan, reason, {"basis": plan.basis, "params": params})


async def store_plan(
    store: Store, plan: PlanRecord, reason: str, detail: dict[str, JsonValue]
) -> PlanRecord:
    """Store a new plan with its first journal line (planned, by its author); with its id."""
    async with store.transaction() as tx:
        plan_id = await lifecycle.add_plan(tx, plan)
        step = StepRecord(
            plan_id, plan.created_at, "plan", Outcome.PLANNED, reason, plan.created_by, detail
        )
        await lifecycle.add_step(tx, step)
    return PlanRecord(**{**plan.__dict__, "id": plan_id})


async def load_plan(store: Store, plan_id: int, kind: str, refused: type[ValueError]) -> PlanRecord:
    """The stored plan ``plan_id`` of ``kind``; ``refused`` naming it when there is none."""
    async with store.read() as reader:
        plan = await lifecycle.plan(reader, plan_id)
    if plan is None or plan.kind != kind:
        raise refused(f"there is no {kind} plan {plan_id}: see lnpilot {kind} plans")
    return plan


async def run_close(
    node: NodeBackend,
    store: Store,
    plan_id: int,
    *,
    by: str,
    clock: Callable[[], datetime],
    apply: bool = False,
    approve_force: bool = False,
) -> RunReport:
    """Take the plan's remaining steps in order, as far as they go now (module docstring)."""
    plan = await load_plan(store, plan_id, KIND, CloseError)
    journal = Journal(store, plan_id, by, clock, [])
    written = journal.written
    if plan.next_step is None:
        return RunReport(plan, written)
    force = bool(plan.params.get("force"))
    if force and not approve_force:
        await journal(
            plan.next_step,
            Outcome.REFUSED,
            "this plan force-closes: a force close needs its second approval "
            "(--approve-force), given by whoever runs it",
        )
        return RunReport(plan, written)
    if not apply:
        remaining = ORDER[ORDER.index(Step(plan.next_step)) :]
        problem = await _stale(node, plan, clock()) if plan.state == PlanState.PLANNED else None
        reason = problem or "would " + ", then ".join(_describe(s, plan) for s in remaining)
        await journal(plan.next_step, Outcome.DRY_RUN, reason + " (dry run: nothing sent)")
        return RunReport(plan, written)

    while plan.next_step is not None:
        step = Step(plan.next_step)
        if step is Step.DISABLE:
            problem = await _stale(node, plan, clock())
            if problem is not None:
                await journal(step, Outcome.REFUSED, problem + ": make a new plan")
                plan = await advance(store, plan, clock(), PlanState.STALE, None)
                break
            channel = await _open_channel(node, _chan_id(plan), plan.scid or "")
            deadline = clock() + timedelta(seconds=_int(plan.params.get("htlc_deadline_s")))
            if Capability.SET_CHANNEL_ENABLED in node.capabilities:
                await node.set_channel_enabled(channel, False)
                await journal(step, Outcome.DONE, "disabled our direction: no new HTLC enters")
            else:
                await journal(
                    step,
                    Outcome.SKIPPED,
                    f"the {node.name} backend cannot disable a channel: new HTLCs may enter "
                    "until the close starts (LND REST can disable it)",
                )
            plan = await advance(
                store,
                plan,
                clock(),
                PlanState.RUNNING,
                Step.SETTLE,
                {**plan.result, "htlc_deadline": deadline.isoformat()},
            )
        elif step is Step.SETTLE and Capability.READ_PENDING_HTLCS not in node.capabilities:
            await journal(
                step,
                Outcome.SKIPPED,
                f"the {node.name} backend does not show HTLCs in flight, so none are waited "
                "for here: a cooperative close lets them settle before it signs, a force "
                "close leaves them to resolve on chain",
            )
            plan = await advance(store, plan, clock(), PlanState.RUNNING, Step.CLOSE)
        elif step is Step.SETTLE:
            channel = await _open_channel(node, _chan_id(plan), plan.scid or "")
            pending = channel.num_pending_htlcs
            if pending:
                deadline = datetime.fromisoformat(str(plan.result["htlc_deadline"]))
                late = clock() >= deadline
                await journal(
                    step,
                    Outcome.DEADLINE if late else Outcome.WAITING,
                    f"{pending} HTLC(s) still in flight"
                    + (
                        f" past the deadline ({deadline.isoformat()}): run again once they "
                        "settle, or make a force-close plan"
                        if late
                        else f"; waiting until {deadline.isoformat()}"
                    ),
                    pending_htlcs=pending,
                )
                break
            await journal(step, Outcome.DONE, "no HTLC in flight")
            plan = await advance(store, plan, clock(), PlanState.RUNNING, Step.CLOSE)
        elif step is Step.CLOSE:
            plan = await _close(node, store, plan, clock, journal, force)
        else:
            plan = await _cleanup(node, store, plan, clock(), journal)
            if plan.next_step is not None:
                break
    return RunReport(plan, written)


async def _close(
    node: NodeBackend,
    store: Store,
    plan: PlanRecord,
    clock: Callable[[], datetime],
    journal: Journal,
    force: bool,
) -> PlanRecord:
    rate = plan.params.get("sat_per_vbyte")
    sat_per_vbyte = rate if isinstance(rate, int) else None
    open_now = {c.channel_point: c for c in await node.list_channels()}
    channel = open_now.get(plan.channel_point or "")
    result = dict(plan.result)
    if channel is None:
        await journal(Step.CLOSE, Outcome.DONE, "the node lists it as closing already")
    else:
        txid = await node.close_channel(channel, force=force, sat_per_vbyte=sat_per_vbyte)
        result["closing_txid"] = txid
        how = "force close (second approval given)" if force else "cooperative close"
        await journal(
            Step.CLOSE,
            Outcome.DONE,
            f"{how} sent at {_rate(sat_per_vbyte)}; closing tx {txid or 'not reported'}",
            closing_txid=txid,
        )
    now = clock()
    if sat_per_vbyte is not None and not force:
        # an estimate for accounting: the typical closing size at the rate asked for
        result["onchain_fee_sat"] = sat_per_vbyte * COOP_CLOSE_VBYTES
        result["onchain_fee_at"] = now.isoformat()
    return await advance(store, plan, now, PlanState.RUNNING, Step.CLEANUP, result)


async def _cleanup(
    node: NodeBackend,
    store: Store,
    plan: PlanRecord,
    now: datetime,
    journal: Journal,
) -> PlanRecord:
    still_open = {c.channel_point for c in await node.list_channels()}
    if plan.channel_point in still_open:
        if plan.result.get("closing_txid") is None:
            # LNbits hands the close to the node in the background and reports no txid
            await journal(
                Step.CLEANUP,
                Outcome.WAITING,
                f"the node still lists {plan.scid} as open: the close was handed to the "
                f"{node.name} backend, which closes in the background; run again",
            )
            return plan
        raise CloseError(
            f"channel {plan.scid} is still open after its close was sent: check the node"
        )
    chan_id = _chan_id(plan)
    async with store.transaction() as tx:
        archived = await lifecycle.archive_agreements(
            tx, plan.node_id, plan.channel_point or "", now
        )
        accounting = await _accounting(tx, plan.node_id, chan_id, now)
    result: dict[str, JsonValue] = {**plan.result, "accounting": accounting}
    await journal(
        Step.CLEANUP,
        Outcome.DONE,
        "left the fee and rebalance engines (they act on open channels only); "
        f"{archived} agreement(s) archived; final accounting recorded",
        **accounting,
    )
    return await advance(store, plan, now, PlanState.DONE, None, result)


async def _accounting(
    tx: StoreTransaction, node_id: int, chan_id: int, now: datetime
) -> dict[str, JsonValue]:
    """What the channel earned and cost over its recorded life, as of its close."""
    flows = await tx.channel_totals(node_id, EPOCH, now + timedelta(seconds=1), now=now)
    spent = await rebalances.spent_by_channel(tx, node_id, [chan_id])
    flow = flows.get(chan_id)
    first_seen = (await lifecycle.first_seen(tx, node_id)).get(chan_id)
    return {
        "fees_earned_msat": flow.fee_out_msat if flow else 0,
        "fees_inbound_msat": flow.fee_in_msat if flow else 0,
        "forwards_out": flow.forwards_out if flow else 0,
        "rebalance_spent_msat": spent.get(chan_id, 0),
        "observed_lifetime_s": int((now - first_seen).total_seconds()) if first_seen else None,
    }


async def _open_channel(node: NodeBackend, chan_id: int, scid: str) -> Channel:
    for channel in await node.list_channels():
        if channel.chan_id == chan_id:
            return channel
    for channel in await node.list_pending_channels():
        if channel.chan_id == chan_id or channel.scid == scid:
            raise CloseError(f"channel {scid} is {channel.state.value} already")
    raise CloseError(f"the node has no open channel {scid}")


async def _stale(node: NodeBackend, plan: PlanRecord, now: datetime) -> str | None:
    """Why the plan is out of date, or None when the channel is as it was planned."""
    if now - plan.created_at > MAX_PLAN_AGE:
        return f"the plan is older than {_span(MAX_PLAN_AGE)}"
    try:
        channel = await _open_channel(node, _chan_id(plan), plan.scid or "")
    except CloseError as exc:
        return str(exc)
    now_basis = _basis(channel)
    changed = [
        f"{name} {plan.basis.get(name)} -> {value}"
        for name, value in now_basis.items()
        if plan.basis.get(name) != value
    ]
    return "the channel changed since planning (" + "; ".join(changed) + ")" if changed else None


def _basis(channel: Channel) -> dict[str, JsonValue]:
    state = "open" if channel.state in (ChannelState.ACTIVE, ChannelState.INACTIVE) else None
    return {
        "state": state or channel.state.value,
        "channel_point": channel.channel_point,
        "capacity_sat": channel.capacity_sat,
        "local_balance_msat": channel.local_balance_msat,
        "remote_balance_msat": channel.remote_balance_msat,
    }


async def advance(
    store: Store,
    plan: PlanRecord,
    now: datetime,
    state: PlanState,
    next_step: str | None,
    result: dict[str, JsonValue] | None = None,
) -> PlanRecord:
    assert plan.id is not None
    async with store.transaction() as tx:
        await lifecycle.advance_plan(
            tx, plan.id, now, state=state, next_step=next_step, result=result
        )
    fields = {**plan.__dict__, "state": state, "next_step": next_step, "updated_at": now}
    if result is not None:
        fields["result"] = result
    return PlanRecord(**fields)


def _describe(step: Step, plan: PlanRecord) -> str:
    force = bool(plan.params.get("force"))
    rate = plan.params.get("sat_per_vbyte")
    return {
        Step.DISABLE: "disable the channel",
        Step.SETTLE: "wait for in-flight HTLCs "
        f"(up to {_span(timedelta(seconds=_int(plan.params.get('htlc_deadline_s'))))})",
        Step.CLOSE: "force-close it"
        if force
        else f"close it cooperatively at {_rate(rate if isinstance(rate, int) else None)}",
        Step.CLEANUP: "clean up (archive agreements, record the final accounting)",
    }[step]


def _chan_id(plan: PlanRecord) -> int:
    assert plan.chan_id is not None  # a close plan always names its channel
    return plan.chan_id


def _int(value: JsonValue) -> int:
    return value if isinstance(value, int) else 0


def _rate(sat_per_vbyte: int | None) -> str:
    return f"{sat_per_vbyte} sat/vB" if sat_per_vbyte is not None else "the node's fee rate"


def _span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"
