"""One evaluation of the fee policy, end to end: gather, plan, apply (or not), journal.

This is what ``lnpilot fees plan`` and ``lnpilot fees apply`` run, and what the daemon will
schedule. Dry run is the default: only ``apply=True`` sends anything to the node, and the
run is journaled either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lnpilot.fees import applier
from lnpilot.fees.applier import Result
from lnpilot.fees.gather import gather
from lnpilot.fees.journal import Mode, RunHeader, record
from lnpilot.fees.planner import Plan, plan
from lnpilot.fees.policy import PolicyFile
from lnpilot.node.backend import NodeBackend
from lnpilot.store import Store


@dataclass(frozen=True)
class RunReport:
    """A journaled run: its id, what became of each decision, and the plan if one was made
    (a rollback restores without planning)."""

    run_id: int
    mode: Mode
    results: tuple[Result, ...]
    plan: Plan | None = None


async def evaluate(
    node: NodeBackend,
    store: Store,
    policy: PolicyFile,
    now: datetime,
    *,
    apply: bool = False,
    onchain_fee_rate_sat_per_vbyte: int | None = None,
) -> RunReport:
    gathered = await gather(
        node, store, policy, now, onchain_fee_rate_sat_per_vbyte=onchain_fee_rate_sat_per_vbyte
    )
    decided = plan(policy, gathered.inputs)
    if apply:
        results = await applier.apply(node, decided.decisions, gathered.channels)
    else:
        results = applier.dry_run(decided.decisions)
    mode = Mode.APPLY if apply else Mode.DRY_RUN
    header = RunHeader(
        at=now,
        mode=mode,
        policy_digest=decided.policy_digest,
        budget_limit=decided.budget_limit,
        budget_used=decided.budget_used,
    )
    run_id = await record(store, gathered.info, header, results)
    return RunReport(run_id, mode, tuple(results), decided)
