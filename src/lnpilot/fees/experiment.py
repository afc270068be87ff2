"""Run a fee policy against a simulated network in virtual time: the strategy benchmark.

The simulation's node is read the way the gatherer reads a real one (channels with both
policies, forwards, forwards that failed for lack of liquidity) and turned into the same
:class:`~lnpilot.fees.inputs.PlanInputs`; :func:`~lnpilot.fees.planner.plan` decides
exactly as in production, and the updates are applied to the simulated node at once. The
memory the journal keeps in production (controller states, last changes, the updates
counted by the daily budget) is kept here in memory. Peer uptime is not tracked (rules that
match on it do not match here).

Any policy file is a contender: ``bench/fees_sim.py`` runs the same scenario and seed once
per policy and compares what each earned, so a new strategy is benchmarked by writing a
policy that uses it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from lnpilot.fees.inputs import ChannelInputs, ControllerMemory, PlanInputs, WindowStats
from lnpilot.fees.planner import Action, Plan, plan
from lnpilot.fees.policy import PolicyFile
from lnpilot.fees.safety import BUDGET_WINDOW
from lnpilot.node.models import (
    Capability,
    Channel,
    ChannelPolicy,
    ChannelState,
    FailedForward,
    Initiator,
    PolicyUpdate,
)
from lnpilot.simnet.clock import NS_PER_S
from lnpilot.simnet.model import ChannelState as SimChannelState
from lnpilot.simnet.model import Policy
from lnpilot.simnet.our_node import ChannelView
from lnpilot.simnet.records import Forward, HtlcEvent, HtlcEventKind, HtlcEventType
from lnpilot.simnet.simulation import Simulation
from lnpilot.store.records import FlowStats

#: The scenario of the benchmark: a shop whose customers pay through us drains our side
#: of our channel to it; the rest of the network routes around as fees dictate.
DRAIN_SCENARIO = Path(__file__).with_name("drain_scenario.toml")
#: Everything a simulated LND can do: the experiment sets inbound fees too.
SIMULATED_CAPABILITIES = frozenset(Capability)


@dataclass
class ExperimentOutcome:
    """What a policy achieved over the run. ``fee_series`` holds (day, fee rate ppm) per
    channel after each evaluation, ``ratio_series`` (day, local ratio per mille)."""

    fees_earned_msat: int = 0
    forwards: int = 0
    liquidity_failures: int = 0
    updates: int = 0
    evaluations: int = 0
    channel_days: float = 0.0
    fee_series: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    ratio_series: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    fees_by_channel_msat: dict[str, int] = field(default_factory=dict)

    @property
    def updates_per_channel_day(self) -> float:
        return self.updates / self.channel_days if self.channel_days else 0.0


class _Observer:
    """Forwards and liquidity failures of our node, as the collector would store them."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.since_ns = sim.network.now_ns
        self.failed: list[FailedForward] = []
        self.failed_ns: list[int] = []
        sim.our_node.subscribe_htlc_events(self._on_event)

    def _on_event(self, event: HtlcEvent) -> None:
        if (
            event.kind is not HtlcEventKind.LINK_FAIL
            or event.event_type is not HtlcEventType.FORWARD
        ):
            return
        detail = event.failure_detail.value if event.failure_detail else ""
        wire = event.wire_failure.value if event.wire_failure else "UNKNOWN"
        self.failed.append(
            FailedForward(
                timestamp=_time(self.sim, event.timestamp_ns),
                chan_id_in=event.incoming_channel_id,
                chan_id_out=event.outgoing_channel_id,
                amt_in_msat=event.incoming_amt_msat,
                amt_out_msat=event.outgoing_amt_msat,
                failure=detail if detail not in ("", "NO_DETAIL") else wire,
            )
        )
        self.failed_ns.append(event.timestamp_ns)

    def window(self, window_s: int) -> dict[int, WindowStats] | None:
        """Every channel's flows and liquidity failures over the trailing window; None when
        the run has not watched that long yet (as the store would not cover it)."""
        now_ns = self.sim.network.now_ns
        start_ns = now_ns - window_s * NS_PER_S
        if start_ns < self.since_ns:
            return None
        forwards: list[Forward] = self.sim.our_node.forwards
        first = bisect.bisect_left([f.timestamp_ns for f in forwards], start_ns)
        flows: dict[int, dict[str, int]] = {}
        for fwd in forwards[first:]:
            into = flows.setdefault(fwd.chan_id_in, {})
            out = flows.setdefault(fwd.chan_id_out, {})
            into["forwards_in"] = into.get("forwards_in", 0) + 1
            into["volume_in_msat"] = into.get("volume_in_msat", 0) + fwd.amt_in_msat
            into["fee_in_msat"] = into.get("fee_in_msat", 0) + fwd.fee_msat
            out["forwards_out"] = out.get("forwards_out", 0) + 1
            out["volume_out_msat"] = out.get("volume_out_msat", 0) + fwd.amt_out_msat
            out["fee_out_msat"] = out.get("fee_out_msat", 0) + fwd.fee_msat
        failures: dict[int, tuple[int, int]] = {}
        for failed in self.failed[bisect.bisect_left(self.failed_ns, start_ns) :]:
            if failed.for_lack_of_liquidity and failed.chan_id_out is not None:
                count, msat = failures.get(failed.chan_id_out, (0, 0))
                failures[failed.chan_id_out] = (count + 1, msat + (failed.amt_out_msat or 0))
        return {
            chan_id: WindowStats(
                FlowStats(**flows.get(chan_id, {})),
                failures.get(chan_id, (0, 0))[0],
                failures.get(chan_id, (0, 0))[1],
            )
            for chan_id in {*flows, *failures, *(v.chan_id for v in self.sim.our_node.channels())}
        }


def run(
    sim: Simulation,
    policy: PolicyFile,
    *,
    days: float,
    warmup_days: float = 0.0,
    step_s: int = 3600,
    on_plan: Callable[[Plan], None] | None = None,
) -> ExperimentOutcome:
    """Evaluate ``policy`` every ``step_s`` of virtual time for ``days`` and apply its
    updates; returns what our node earned and how often its policies changed.

    The first ``warmup_days`` only build history (as a collector running before lnpilot's
    fee engine is switched on would): nothing is evaluated or counted then.
    """
    observer = _Observer(sim)
    sim.run_for(warmup_days * 86_400)
    outcome = ExperimentOutcome()
    memory: dict[int, ControllerMemory] = {}
    last_change: dict[int, datetime] = {}
    sent: list[datetime] = []
    start_ns = sim.network.now_ns
    end_ns = start_ns + int(days * 86_400 * NS_PER_S)
    while sim.network.now_ns + step_s * NS_PER_S <= end_ns:
        sim.run_for(step_s)
        now = sim.network.now()
        watched = {w: observer.window(w) for w in policy.windows_s()}
        windows = {w: stats for w, stats in watched.items() if stats is not None}
        inputs = PlanInputs(
            now=now,
            channels=tuple(
                _channel_inputs(sim, view, windows, memory, last_change)
                for view in sim.our_node.channels()
            ),
            capabilities=SIMULATED_CAPABILITIES,
            recent_updates=tuple(at for at in sent if at > now - BUDGET_WINDOW),
            onchain_fee_rate_sat_per_vbyte=sim.network.chain.fee_rate_sat_per_vbyte,
        )
        decided = plan(policy, inputs)
        if on_plan is not None:
            on_plan(decided)
        outcome.evaluations += 1
        day = (sim.network.now_ns - start_ns) / (86_400 * NS_PER_S)
        for decision in decided.decisions:
            if decision.chan_id is None or decision.scid is None:
                continue
            if decision.state is not None and decision.state_since is not None:
                memory[decision.chan_id] = ControllerMemory(decision.state, decision.state_since)
            if decision.action is Action.UPDATE:
                _apply(sim, decision.chan_id, decision.proposal)
                last_change[decision.chan_id] = now
                sent.append(now)
                outcome.updates += 1
        for view in sim.our_node.channels():
            outcome.fee_series.setdefault(view.scid, []).append(
                (day, view.local_policy.fee_rate_ppm)
            )
            total = view.local_balance_msat + view.remote_balance_msat
            outcome.ratio_series.setdefault(view.scid, []).append(
                (day, view.local_balance_msat * 1000 // total if total else 0)
            )
        outcome.channel_days += len(sim.our_node.channels()) * step_s / 86_400
    for fwd in sim.our_node.forwards:
        if fwd.timestamp_ns > start_ns:
            outcome.fees_earned_msat += fwd.fee_msat
            outcome.forwards += 1
            scid = sim.our_node.channel(fwd.chan_id_out).scid
            outcome.fees_by_channel_msat[scid] = outcome.fees_by_channel_msat.get(scid, 0) + (
                fwd.fee_msat
            )
    outcome.liquidity_failures = sum(
        1
        for failed, at_ns in zip(observer.failed, observer.failed_ns, strict=True)
        if at_ns > start_ns and failed.for_lack_of_liquidity
    )
    return outcome


def _time(sim: Simulation, timestamp_ns: int) -> datetime:
    return sim.network.config.start + timedelta(microseconds=timestamp_ns // 1000)


def _policy(policy: Policy) -> ChannelPolicy:
    return ChannelPolicy(
        base_fee_msat=policy.base_fee_msat,
        fee_rate_ppm=policy.fee_rate_ppm,
        inbound_base_fee_msat=policy.inbound_base_fee_msat,
        inbound_fee_rate_ppm=policy.inbound_fee_rate_ppm,
        min_htlc_msat=policy.min_htlc_msat,
        max_htlc_msat=policy.max_htlc_msat,
        cltv_delta=policy.cltv_delta,
        disabled=policy.disabled,
    )


def _channel_inputs(
    sim: Simulation,
    view: ChannelView,
    windows: dict[int, dict[int, WindowStats]],
    memory: dict[int, ControllerMemory],
    last_change: dict[int, datetime],
) -> ChannelInputs:
    network = sim.network
    chan = network.channels[view.chan_id]
    peer = network.nodes[view.remote_pubkey]
    channel = Channel(
        scid=view.scid,
        chan_id=view.chan_id,
        channel_point=view.channel_point,
        peer_pubkey=view.remote_pubkey,
        capacity_sat=view.capacity_sat,
        local_balance_msat=view.local_balance_msat,
        remote_balance_msat=view.remote_balance_msat,
        state=ChannelState.ACTIVE if view.active else ChannelState.INACTIVE,
        peer_alias=peer.alias,
        initiator=Initiator.LOCAL if view.initiator else Initiator.REMOTE,
        local_policy=_policy(view.local_policy),
        remote_policy=_policy(view.remote_policy),
        opened_at_height=chan.open_height,
    )
    # What the other ends of the peer's other open channels charge to forward into it.
    others = tuple(
        other.policies[1 - other.side_of(peer.pubkey)].fee_rate_ppm
        for other in (network.channels[i] for i in peer.channel_ids if i != view.chan_id)
        if other.state is SimChannelState.OPEN
    )
    return ChannelInputs(
        channel=channel,
        age_blocks=network.chain.block_height - chan.open_height,
        windows={w: stats[view.chan_id] for w, stats in windows.items()},
        last_change_at=last_change.get(view.chan_id),
        memory=memory.get(view.chan_id),
        peer_fee_rates_ppm=others,
    )


def _apply(sim: Simulation, chan_id: int, update: PolicyUpdate) -> None:
    failed = sim.our_node.update_channel_policy(
        sim.our_node.channel(chan_id).channel_point,
        base_fee_msat=update.base_fee_msat,
        fee_rate_ppm=update.fee_rate_ppm,
        time_lock_delta=update.cltv_delta,
        min_htlc_msat=update.min_htlc_msat,
        max_htlc_msat=update.max_htlc_msat,
        inbound_base_fee_msat=update.inbound_base_fee_msat,
        inbound_fee_rate_ppm=update.inbound_fee_rate_ppm,
    )
    if failed:
        raise RuntimeError(f"the simulated node refused the update of {failed}")
