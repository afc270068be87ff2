"""Write a run to the fee journal, and the policies it set to the policy history.

Every evaluation is written, dry runs included: the journal is the proof of what lnpilot
decided and why, and also its memory (controller states, the updates counted by the daily
budget). Policies that an applied run set and read back are recorded in the policy
history as lnpilot's (source ``lnpilot``) in the same transaction, so that the collector
does not later take them for a change made by someone else.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lnpilot.base.domain import NodeInfo
from lnpilot.fees.applier import Result
from lnpilot.store import Direction, PolicyRecord, PolicySource, Store, fee_journal
from lnpilot.store.fee_journal import FeeDecision, FeeRun


class Mode(enum.StrEnum):
    DRY_RUN = "dry-run"
    APPLY = "apply"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class RunHeader:
    """What a run is, apart from its decisions."""

    at: datetime
    mode: Mode
    policy_digest: str | None = None
    budget_limit: int | None = None
    budget_used: int | None = None
    rollback_of: int | None = None


async def record(store: Store, info: NodeInfo, header: RunHeader, results: Sequence[Result]) -> int:
    """Journal a run (registering the node if the store has not seen it); returns its id."""
    async with store.transaction() as tx:
        node_id = await tx.node_id(info.pubkey)
        if node_id is None:
            node_id = await tx.upsert_node(info, header.at)
        run_id = await fee_journal.record_run(
            tx,
            FeeRun(
                node_id=node_id,
                at=header.at,
                mode=header.mode.value,
                policy_digest=header.policy_digest,
                budget_limit=header.budget_limit,
                budget_used=header.budget_used,
                rollback_of=header.rollback_of,
            ),
            [_decision(result) for result in results],
        )
        await tx.record_policies(
            node_id,
            [
                PolicyRecord(
                    r.decision.chan_id,
                    Direction.LOCAL,
                    PolicySource.LNPILOT,
                    header.at,
                    r.readback,
                )
                for r in results
                if r.sent and r.readback is not None and r.decision.chan_id is not None
            ],
        )
    return run_id


def _decision(result: Result) -> FeeDecision:
    decision = result.decision
    detail = dict(decision.detail)
    if decision.limits:
        detail["limits"] = list(decision.limits)
    if result.readback is not None:
        detail["readback"] = {
            "base_fee_msat": result.readback.base_fee_msat,
            "fee_rate_ppm": result.readback.fee_rate_ppm,
            "inbound_base_fee_msat": result.readback.inbound_base_fee_msat,
            "inbound_fee_rate_ppm": result.readback.inbound_fee_rate_ppm,
            "min_htlc_msat": result.readback.min_htlc_msat,
            "max_htlc_msat": result.readback.max_htlc_msat,
            "cltv_delta": result.readback.cltv_delta,
        }
    return FeeDecision(
        peer_pubkey=decision.peer_pubkey,
        action=decision.action.value,
        outcome=result.outcome.value,
        reason=decision.reason,
        chan_id=decision.chan_id,
        scid=decision.scid,
        rule=decision.rule,
        sent=result.sent,
        state=decision.state,
        state_since=decision.state_since,
        old=decision.current,
        new=decision.proposal,
        error=result.error,
        detail=detail,
    )
