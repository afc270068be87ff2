"""Fill the planner's inputs from the node (as it is now) and the store (its history).

The node gives the channels with both policies (through whichever backend can read them);
the store gives what the collector recorded: flows over each window the policy asks
about, failed forwards for lack of liquidity, peers' connections, the last change of our
policies; and the fee journal gives the planner's memory (controller states, updates sent
in the last day).

History is given only where the store really covers it (see :mod:`lnpilot.fees.inputs`):

- flows need a collector cycle no older than ``safety.max_history_lag`` (forwarding
  history is read from the node's beginning, so one recent cycle covers every window);
- failed forwards and peer uptime are known only from when the collector started watching
  (its first peer events), so a window reaching further back is left out.

The fees other channels charge toward each peer (for ``peer_aware``) come from the public
graph when a rule uses that strategy and a backend reads the graph: one read per peer, a
few at a time. Without the graph they are our own other channels to the peer.

What refilling each channel cost (its ``rebalance_cost_ppm``) comes from the rebalance
journal in the store over :data:`~lnpilot.fees.inputs.LIQUIDITY_COST_WINDOW`: fees paid
over the liquidity moved in, so the fee knows what its liquidity actually cost. It is read
only when the policy sets ``liquidity_margin_ppm`` somewhere, so that a policy without it
(``cost_floor``, ``never_below_cost`` and the inbound discount included) decides as before.

The fees agreed with a peer when lnpilot opened the channel come from the store's live
agreements (the lifecycle engine writes them; engines meet in the store), so the planner
can hold them as pins.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from lnpilot.base.domain import Capability, Channel, ChannelPolicy, FailedForward, NodeInfo
from lnpilot.fees.inputs import (
    AGREED_FEES,
    LIQUIDITY_COST_WINDOW,
    AgreedFees,
    ChannelInputs,
    ControllerMemory,
    PlanInputs,
    WindowStats,
    ceil_div,
)
from lnpilot.fees.policy import PolicyFile
from lnpilot.fees.safety import BUDGET_WINDOW
from lnpilot.node.backend import NodeBackend, NodeError
from lnpilot.store import (
    Direction,
    FlowStats,
    Store,
    StoreReader,
    fee_journal,
    lifecycle,
    rebalances,
)
from lnpilot.store.uptime import uptime_permille_full_window

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Graph reads for peers' rivals run this many at a time: enough to hide latency, gentle on
#: the node.
_GRAPH_CONCURRENCY = 8


@dataclass(frozen=True)
class Gathered:
    """The inputs, with the node they describe (``node_id`` None: the store has never seen
    it, so there is no history at all)."""

    info: NodeInfo
    node_id: int | None
    inputs: PlanInputs

    @property
    def channels(self) -> dict[int, Channel]:
        return {
            c.channel.chan_id: c.channel
            for c in self.inputs.channels
            if c.channel.chan_id is not None
        }


async def gather(
    node: NodeBackend,
    store: Store,
    policy: PolicyFile,
    now: datetime,
    *,
    onchain_fee_rate_sat_per_vbyte: int | None = None,
) -> Gathered:
    info = await node.get_info()
    channels = await node.get_policies(await node.list_channels())
    async with store.read() as reader:
        node_id = await reader.node_id(info.pubkey)
        history = (
            await _history(reader, node_id, policy, now) if node_id is not None else _History()
        )
    toward: dict[str, dict[int, ChannelPolicy]] = {}
    if policy.reads_graph() and Capability.READ_GRAPH in node.capabilities:
        toward = await _policies_toward_peers(node, {c.peer_pubkey for c in channels})
    inputs = PlanInputs(
        now=now,
        channels=tuple(
            _channel_inputs(channel, channels, info, history, toward) for channel in channels
        ),
        capabilities=node.capabilities,
        recent_updates=history.recent_updates,
        onchain_fee_rate_sat_per_vbyte=onchain_fee_rate_sat_per_vbyte,
    )
    return Gathered(info, node_id, inputs)


@dataclass(frozen=True)
class _History:
    """What the store knows, per channel id (and per peer for uptime)."""

    flows: dict[int, dict[int, FlowStats]] = field(default_factory=dict)  # window -> chan
    failures: dict[int, dict[int, tuple[int, int]]] = field(default_factory=dict)  # (n, msat)
    uptime: dict[str, dict[int, int]] = field(default_factory=dict)  # pubkey -> window
    last_change: dict[int, datetime] = field(default_factory=dict)
    memory: dict[int, ControllerMemory] = field(default_factory=dict)
    recent_updates: tuple[datetime, ...] = ()
    agreed: dict[str, AgreedFees] = field(default_factory=dict)  # channel point ->
    refill_cost_ppm: dict[int, int] = field(default_factory=dict)  # chan id ->


async def _history(
    reader: StoreReader, node_id: int, policy: PolicyFile, now: datetime
) -> _History:
    windows = policy.windows_s()
    state = await reader.collector_state(node_id)
    lag = timedelta(seconds=policy.safety.max_history_lag_s)
    fresh = (
        state is not None and state.last_cycle_at is not None and state.last_cycle_at >= now - lag
    )
    events = await reader.peer_events(node_id, _EPOCH, now)
    watched_since = min((e.at for e in events), default=None)
    flows: dict[int, dict[int, FlowStats]] = {}
    failures: dict[int, dict[int, tuple[int, int]]] = {}
    if fresh:
        spans = [(now - timedelta(seconds=window_s), now) for window_s in windows]
        totals = await reader.channel_totals_over(node_id, spans, now=now)
        flows = dict(zip(windows, totals, strict=True))
        covered = [
            w for w in windows if watched_since and watched_since <= now - timedelta(seconds=w)
        ]
        if covered:
            failed = await reader.failed_forwards(
                node_id, now - timedelta(seconds=max(covered)), now
            )
            failures = {w: _liquidity_failures(failed, now - timedelta(seconds=w)) for w in covered}
    last_change = {
        chan_id: record.at
        for (chan_id, direction), record in (await reader.current_policies(node_id)).items()
        if direction is Direction.LOCAL
    }
    sent = await fee_journal.sent_updates(reader, node_id, now - BUDGET_WINDOW)
    for chan_id, at in sent:
        if chan_id is not None and at > last_change.get(chan_id, _EPOCH):
            last_change[chan_id] = at
    memory = {
        chan_id: ControllerMemory(state_name, since)
        for chan_id, (state_name, since) in (
            await fee_journal.latest_states(reader, node_id)
        ).items()
    }
    return _History(
        flows=flows,
        failures=failures,
        uptime=uptime_permille_full_window(events, windows, now),
        last_change=last_change,
        memory=memory,
        recent_updates=tuple(at for _, at in sent),
        agreed=await _agreed_fees(reader, node_id),
        refill_cost_ppm=(
            await _refill_costs(reader, node_id, now) if policy.prices_liquidity() else {}
        ),
    )


async def _refill_costs(reader: StoreReader, node_id: int, now: datetime) -> dict[int, int]:
    """Per channel, the fees its refills paid per msat moved in (ppm, rounded up)."""
    since = now - LIQUIDITY_COST_WINDOW
    return {
        chan_id: ceil_div(refilled.fee_paid_msat * 1_000_000, refilled.moved_msat)
        for chan_id, refilled in (
            await rebalances.refilled_by_channel(reader, node_id, since)
        ).items()
    }


async def _agreed_fees(reader: StoreReader, node_id: int) -> dict[str, AgreedFees]:
    """The fees of each live agreement that agreed any, by channel point."""
    found: dict[str, AgreedFees] = {}
    for point, agreement in (await lifecycle.live_agreements(reader, node_id)).items():
        fees = {
            name: value
            for name in AGREED_FEES
            if isinstance(value := agreement.terms.get(name), int) and not isinstance(value, bool)
        }
        if fees:
            found[point] = AgreedFees(agreement.id, agreement.name, fees)
    return found


async def _policies_toward_peers(
    node: NodeBackend, pubkeys: set[str]
) -> dict[str, dict[int, ChannelPolicy]]:
    """Per peer, the graph's policies toward it; a peer whose read failed is left out (its
    channels fall back to our own other channels, and the failure is logged)."""
    slots = asyncio.Semaphore(_GRAPH_CONCURRENCY)

    async def read(pubkey: str) -> tuple[str, dict[int, ChannelPolicy] | None]:
        async with slots:
            try:
                return pubkey, await node.policies_toward(pubkey)
            except NodeError as exc:
                log.warning(
                    "graph read toward peer %s failed (%s); peer_aware compares with our "
                    "own channels to it only",
                    pubkey,
                    exc,
                )
                return pubkey, None

    answers = await asyncio.gather(*(read(pubkey) for pubkey in sorted(pubkeys)))
    return {pubkey: policies for pubkey, policies in answers if policies is not None}


def _peer_fee_rates(
    channel: Channel,
    channels: Sequence[Channel],
    toward: dict[str, dict[int, ChannelPolicy]],
) -> tuple[int, ...]:
    """The fee rates of the enabled channels into the channel's peer other than itself:
    every public one the graph shows (rivals' and ours) and our own private ones."""
    policies: dict[int | str, ChannelPolicy] = {
        chan_id: policy for chan_id, policy in toward.get(channel.peer_pubkey, {}).items()
    }
    for other in channels:
        if other.peer_pubkey == channel.peer_pubkey and other.local_policy is not None:
            policies.setdefault(_channel_key(other), other.local_policy)
    own_key = _channel_key(channel)
    return tuple(
        policy.fee_rate_ppm
        for key, policy in policies.items()
        if key != own_key and not policy.disabled
    )


def _channel_key(channel: Channel) -> int | str:
    """How the graph names a channel (its id), or its channel point before it has one."""
    return channel.chan_id if channel.chan_id is not None else channel.channel_point


def _liquidity_failures(
    failed: Sequence[FailedForward], start: datetime
) -> dict[int, tuple[int, int]]:
    """Per outgoing channel: forwards that failed for lack of balance since ``start``."""
    found: dict[int, tuple[int, int]] = {}
    for failure in failed:
        if failure.timestamp < start or failure.chan_id_out is None:
            continue
        if not failure.for_lack_of_liquidity:
            continue
        count, msat = found.get(failure.chan_id_out, (0, 0))
        found[failure.chan_id_out] = (count + 1, msat + (failure.amt_out_msat or 0))
    return found


def _channel_inputs(
    channel: Channel,
    channels: Sequence[Channel],
    info: NodeInfo,
    history: _History,
    toward: dict[str, dict[int, ChannelPolicy]],
) -> ChannelInputs:
    chan_id = channel.chan_id
    windows: dict[int, WindowStats] = {}
    if chan_id is not None:
        for window_s, totals in history.flows.items():
            failures = history.failures.get(window_s)
            count, msat = (failures or {}).get(chan_id, (0, 0))
            windows[window_s] = WindowStats(
                flow=totals.get(chan_id, FlowStats()),
                liquidity_failures=count if failures is not None else None,
                liquidity_failed_msat=msat if failures is not None else None,
            )
    return ChannelInputs(
        channel=channel,
        age_blocks=(
            info.block_height - channel.opened_at_height
            if channel.opened_at_height is not None
            else None
        ),
        windows=windows,
        peer_uptime_permille=history.uptime.get(channel.peer_pubkey, {}),
        last_change_at=history.last_change.get(chan_id) if chan_id is not None else None,
        memory=history.memory.get(chan_id) if chan_id is not None else None,
        peer_fee_rates_ppm=_peer_fee_rates(channel, channels, toward),
        agreed=history.agreed.get(channel.channel_point),
        rebalance_cost_ppm=history.refill_cost_ppm.get(chan_id) if chan_id is not None else None,
    )
