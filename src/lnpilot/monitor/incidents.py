"""Incidents: opened by alerts graver than the policy's threshold, worked to a documented end.

An incident carries a timeline (every alert change, action, note and decision, with who and
when) and its action plan. The operator acknowledges, annotates, approves or rejects
actions, and resolves it with a cause and a resolution; the Markdown export
(:mod:`lnpilot.monitor.export`) is the written record.

The :class:`ActionRunner` carries out actions on the node, safe by construction: an action
is planned as data first; the runner takes only approved ones and safe ones the policy
lists in ``auto_actions``; it respects a daily budget; in dry-run mode (the default) it
records what it would do and changes nothing; in apply mode it reads the result back to
verify it; every outcome, including "nothing to do", goes to the timeline; and a close
is never carried out without an explicit approval.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from lnpilot.base.domain import Capability, Channel, ChannelPolicy, PolicyUpdate
from lnpilot.base.redact import redact_text
from lnpilot.monitor.config import ActionMode, IncidentPolicy, RuleKind
from lnpilot.monitor.playbook import (
    AUTOMATABLE,
    CLOSE_CHANNEL,
    DISABLE_CHANNEL,
    EXECUTABLE,
    LOWER_MAX_HTLC,
    MANUAL,
    RAISE_FEE,
    plan_for,
)
from lnpilot.node.backend import NodeBackend, NodeError
from lnpilot.store import Store
from lnpilot.store.alerts import (
    ALERT_FIRING,
    ALERT_RESOLVED,
    ActionState,
    Alert,
    IncidentAction,
    IncidentStatus,
    MonitorBook,
    TimelineEntry,
    monitor_book,
)

log = logging.getLogger(__name__)


class IncidentError(Exception):
    """An operator's request that cannot be done (unknown id, wrong state); says why."""


async def open_or_update(
    book: MonitorBook,
    node_id: int,
    alert: Alert,
    kind: RuleKind,
    now: datetime,
) -> int | None:
    """Open an incident for a newly notifiable ``alert``, with its plan; if one is still
    open for the same alert, add to its timeline instead. Returns the new incident's id."""
    existing = await book.unresolved_incident_for(node_id, alert.fingerprint)
    entry = TimelineEntry(now, ALERT_FIRING, f"{alert.rule}: {alert.summary}")
    if existing is not None:
        await book.add_timeline(existing.id, entry)
        return None
    incident_id = await book.open_incident(
        node_id,
        at=now,
        title=alert.summary[:200],
        severity=alert.severity,
        rule=alert.rule,
        fingerprint=alert.fingerprint,
        labels=alert.labels,
    )
    await book.add_timeline(incident_id, TimelineEntry(now, "opened", f"opened by {alert.rule}"))
    await book.add_timeline(incident_id, entry)
    plan = plan_for(kind, alert)
    await book.add_actions(incident_id, plan, now)
    await book.add_timeline(
        incident_id,
        TimelineEntry(now, "plan", f"action plan proposed: {len(plan)} actions"),
    )
    return incident_id


async def note_resolved(book: MonitorBook, node_id: int, alert: Alert, now: datetime) -> None:
    """Tell the alert's open incident, if any, that its alert resolved (the incident stays
    open: resolving it means documenting a cause, which is a person's job)."""
    incident = await book.unresolved_incident_for(node_id, alert.fingerprint)
    if incident is not None:
        await book.add_timeline(
            incident.id, TimelineEntry(now, ALERT_RESOLVED, f"{alert.rule} resolved")
        )


async def _unresolved(book: MonitorBook, incident_id: int) -> None:
    incident = await book.incident(incident_id)
    if incident is None:
        raise IncidentError(f"no incident {incident_id}")
    if incident.status is IncidentStatus.RESOLVED:
        raise IncidentError(f"incident {incident_id} is already resolved")


async def acknowledge(store: Store, incident_id: int, by: str, now: datetime) -> None:
    async with monitor_book(store, write=True) as book:
        await _unresolved(book, incident_id)
        await book.update_incident(
            incident_id,
            status=IncidentStatus.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=by,
        )
        await book.add_timeline(incident_id, TimelineEntry(now, "acknowledged", "", author=by))


async def annotate(store: Store, incident_id: int, text: str, by: str, now: datetime) -> None:
    async with monitor_book(store, write=True) as book:
        if await book.incident(incident_id) is None:
            raise IncidentError(f"no incident {incident_id}")
        await book.add_timeline(incident_id, TimelineEntry(now, "note", text, author=by))


async def resolve(
    store: Store, incident_id: int, *, cause: str, resolution: str, by: str, now: datetime
) -> None:
    """Close the incident with what caused it and what fixed it (both required: they are
    what the export documents)."""
    if not cause.strip() or not resolution.strip():
        raise IncidentError("resolving an incident needs a cause and a resolution")
    async with monitor_book(store, write=True) as book:
        await _unresolved(book, incident_id)
        await book.update_incident(
            incident_id,
            status=IncidentStatus.RESOLVED,
            resolved_at=now,
            cause=cause,
            resolution=resolution,
        )
        await book.add_timeline(
            incident_id,
            TimelineEntry(now, "resolved", f"cause: {cause}; resolution: {resolution}", author=by),
        )


async def decide(
    store: Store, incident_id: int, action_id: int, verdict: ActionState, by: str, now: datetime
) -> None:
    """Approve, reject, or (for a person's action) mark done one proposed action."""
    allowed = {ActionState.APPROVED, ActionState.REJECTED, ActionState.DONE}
    if verdict not in allowed:
        raise IncidentError(f"an operator can approve, reject or mark done, not {verdict}")
    async with monitor_book(store, write=True) as book:
        await _unresolved(book, incident_id)
        action = next((a for a in await book.actions(incident_id) if a.id == action_id), None)
        if action is None or action.id is None:
            raise IncidentError(f"incident {incident_id} has no action {action_id}")
        if action.state not in (ActionState.PROPOSED, ActionState.DRY_RUN):
            raise IncidentError(f"action {action_id} is already {action.state}")
        if verdict is ActionState.APPROVED and action.kind not in EXECUTABLE:
            raise IncidentError(f"action {action_id} is for a person: mark it done instead")
        if verdict is ActionState.DONE and action.kind != MANUAL:
            raise IncidentError(f"action {action_id} is carried out by lnpilot: approve it")
        await book.set_action_state(action.id, verdict, now)
        await book.add_timeline(
            incident_id,
            TimelineEntry(
                now,
                f"action_{verdict.value}",
                f"#{action_id} {action.description}",
                author=by,
                data={"action_id": action_id},
            ),
        )


@dataclass(frozen=True)
class ActionOutcome:
    """What the runner did with one action (for logs and tests)."""

    action_id: int
    state: ActionState
    text: str


class ActionRunner:
    """Carries out the actions that may run, through the node backend (see module doc)."""

    def __init__(self, store: Store, node: NodeBackend, policy: IncidentPolicy) -> None:
        self._store = store
        self._node = node
        self._policy = policy

    async def run(self, now: datetime) -> list[ActionOutcome]:
        async with monitor_book(self._store) as book:
            open_ids = {i.id for i in await book.incidents(include_resolved=False)}
            candidates = [
                a
                for a in await book.actions(states=[ActionState.PROPOSED, ActionState.APPROVED])
                if a.incident_id in open_ids and self._may_run(a)
            ]
            budget = self._policy.max_auto_actions_per_day - await book.actions_run_since(
                now - timedelta(days=1)
            )
        outcomes = []
        for action in candidates:
            assert action.id is not None
            applying = self._policy.mode is ActionMode.APPLY
            if applying and budget <= 0:
                outcomes.append(
                    ActionOutcome(action.id, action.state, "daily action budget spent; not run")
                )
                continue
            outcome = await self._carry_out(action, apply=applying)
            budget -= outcome.state in (ActionState.DONE, ActionState.FAILED)
            outcomes.append(outcome)
            async with monitor_book(self._store, write=True) as book:
                await book.set_action_state(action.id, outcome.state, now, outcome.text)
                assert action.incident_id is not None
                await book.add_timeline(
                    action.incident_id,
                    TimelineEntry(
                        now,
                        f"action_{outcome.state.value}",
                        f"#{action.id} {action.kind}: {outcome.text}",
                        author="lnpilot",
                        data={"action_id": action.id},
                    ),
                )
        return outcomes

    def _may_run(self, action: IncidentAction) -> bool:
        if action.state is ActionState.APPROVED:
            return action.kind in EXECUTABLE
        return action.kind in AUTOMATABLE and action.kind in self._policy.auto_actions

    async def _carry_out(self, action: IncidentAction, *, apply: bool) -> ActionOutcome:
        assert action.id is not None
        try:
            channels = await self._channels(action)
            if not channels:
                return ActionOutcome(action.id, ActionState.FAILED, "no open channel matches it")
            texts = [await self._one(action.kind, ch, apply=apply) for ch in channels]
        except (NodeError, ValueError) as exc:
            text = redact_text(f"{type(exc).__name__}: {exc}")
            log.warning("incident action %s failed: %s", action.id, text)
            return ActionOutcome(action.id, ActionState.FAILED, text)
        state = ActionState.DONE if apply else ActionState.DRY_RUN
        return ActionOutcome(action.id, state, "; ".join(texts))

    async def _channels(self, action: IncidentAction) -> list[Channel]:
        scid, peer = action.params.get("scid"), action.params.get("peer")
        if scid is None and peer is None:
            raise ValueError("the action names no channel or peer")
        return [
            c
            for c in await self._node.list_channels()
            if (scid is not None and c.scid == scid) or (peer is not None and c.peer_pubkey == peer)
        ]

    async def _one(self, kind: str, channel: Channel, *, apply: bool) -> str:
        """Plan the change for one channel, apply it when asked, and verify it."""
        verb = "" if apply else "would "
        if kind == CLOSE_CHANNEL:
            if not apply:
                return f"{verb}close {channel.scid} cooperatively"
            txid = await self._node.close_channel(channel, force=False)
            return f"closing {channel.scid} cooperatively (txid {txid or 'not reported'})"
        if kind == DISABLE_CHANNEL:
            if apply:
                await self._node.set_channel_enabled(channel, False)
                await self._verify(channel, lambda p: p.disabled, "disabled")
            return f"{verb}disable routing over {channel.scid}"
        current = await self._current_policy(channel)
        if kind == LOWER_MAX_HTLC:
            target = max(
                current.min_htlc_msat or 1000,
                int(channel.local_balance_msat * self._policy.max_htlc_share) // 1000 * 1000,
            )
            if current.max_htlc_msat is not None and current.max_htlc_msat <= target:
                return f"max HTLC of {channel.scid} already {current.max_htlc_msat} msat; unchanged"
            if apply:
                await self._node.update_policy(channel, PolicyUpdate(max_htlc_msat=target))
                await self._verify(channel, lambda p: p.max_htlc_msat == target, "max HTLC")
            return f"{verb}set max HTLC of {channel.scid} to {target} msat"
        if kind == RAISE_FEE:
            ceiling = self._policy.max_fee_rate_ppm
            if current.fee_rate_ppm >= ceiling:
                return f"fee of {channel.scid} already at the {ceiling} ppm ceiling; unchanged"
            raised = math.ceil(current.fee_rate_ppm * (1 + self._policy.fee_step_ratio))
            target = min(ceiling, max(current.fee_rate_ppm + 1, raised))
            if apply:
                await self._node.update_policy(channel, PolicyUpdate(fee_rate_ppm=target))
                await self._verify(channel, lambda p: p.fee_rate_ppm == target, "fee rate")
            return f"{verb}raise fee of {channel.scid} from {current.fee_rate_ppm} to {target} ppm"
        raise ValueError(f"lnpilot does not carry out {kind!r} actions")

    async def _current_policy(self, channel: Channel) -> ChannelPolicy:
        [read] = await self._node.get_policies([channel])
        if read.local_policy is None:
            raise ValueError(f"the node does not show our policy on {channel.scid}")
        return read.local_policy

    async def _verify(
        self, channel: Channel, holds: Callable[[ChannelPolicy], bool], what: str
    ) -> None:
        """Read the policy back; raise if the change did not take."""
        if not ({Capability.READ_POLICIES, Capability.READ_OWN_FEES} & self._node.capabilities):
            return
        policy = await self._current_policy(channel)
        if not holds(policy):
            raise ValueError(f"{what} of {channel.scid} did not change as asked (read back)")
