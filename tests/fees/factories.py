"""Channels, inputs and policies for the fee engine's unit tests, with readable defaults."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from lnpilot.base.domain import Capability, Channel, ChannelPolicy, ChannelState, Initiator
from lnpilot.fees.inputs import ChannelInputs, ControllerMemory, PlanInputs, WindowStats
from lnpilot.fees.policy import PolicyFile, parse_policy
from lnpilot.store.records import FlowStats

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY_S = 86_400
PEER_A = "02" + "a" * 64
PEER_B = "03" + "b" * 64
ALL = frozenset(Capability)
LNBITS_ONLY = frozenset({Capability.SET_OUTBOUND_FEE, Capability.READ_OWN_FEES})


def channel(
    index: int = 1,
    *,
    local_sat: int = 500_000,
    capacity_sat: int = 1_000_000,
    fee_rate_ppm: int = 100,
    base_fee_msat: int = 0,
    inbound_fee_rate_ppm: int | None = 0,
    peer: str = PEER_A,
    alias: str | None = "alice",
    state: ChannelState = ChannelState.ACTIVE,
    remote_fee_rate_ppm: int = 300,
    initiator: Initiator = Initiator.LOCAL,
) -> Channel:
    known = inbound_fee_rate_ppm is not None
    return Channel(
        scid=f"800000x{index}x0",
        chan_id=(800_000 << 40) | (index << 16),
        channel_point=f"{index:064x}:0",
        peer_pubkey=peer,
        capacity_sat=capacity_sat,
        local_balance_msat=local_sat * 1000,
        remote_balance_msat=(capacity_sat - local_sat) * 1000,
        state=state,
        peer_alias=alias,
        initiator=initiator,
        local_policy=ChannelPolicy(
            base_fee_msat=base_fee_msat,
            fee_rate_ppm=fee_rate_ppm,
            inbound_base_fee_msat=0 if known else None,
            inbound_fee_rate_ppm=inbound_fee_rate_ppm,
            min_htlc_msat=1000 if known else None,
            max_htlc_msat=capacity_sat * 990 if known else None,
            cltv_delta=80 if known else None,
        ),
        remote_policy=ChannelPolicy(base_fee_msat=0, fee_rate_ppm=remote_fee_rate_ppm),
        opened_at_height=790_000,
    )


def window(
    forwards_out: int = 0,
    volume_out_sat: int = 0,
    *,
    forwards_in: int = 0,
    volume_in_sat: int = 0,
    failures: int | None = 0,
    failed_sat: int = 0,
) -> WindowStats:
    return WindowStats(
        FlowStats(
            forwards_in=forwards_in,
            forwards_out=forwards_out,
            volume_in_msat=volume_in_sat * 1000,
            volume_out_msat=volume_out_sat * 1000,
        ),
        liquidity_failures=failures,
        liquidity_failed_msat=failed_sat * 1000 if failures is not None else None,
    )


def inputs(
    chan: Channel,
    *,
    windows: Mapping[int, WindowStats] | None = None,
    memory: ControllerMemory | None = None,
    last_change_at: datetime | None = None,
    peer_fee_rates_ppm: tuple[int, ...] = (),
    uptime: Mapping[int, int] | None = None,
    rebalance_cost_ppm: int | None = None,
) -> ChannelInputs:
    return ChannelInputs(
        channel=chan,
        age_blocks=10_000,
        windows=windows or {},
        peer_uptime_permille=uptime or {},
        last_change_at=last_change_at,
        memory=memory,
        peer_fee_rates_ppm=peer_fee_rates_ppm,
        rebalance_cost_ppm=rebalance_cost_ppm,
    )


def plan_inputs(
    *channels: ChannelInputs,
    now: datetime = NOW,
    capabilities: frozenset[Capability] = ALL,
    recent_updates: tuple[datetime, ...] = (),
    onchain_fee_rate: int | None = None,
) -> PlanInputs:
    return PlanInputs(now, tuple(channels), capabilities, recent_updates, onchain_fee_rate)


def policy(body: str, safety: str = "") -> PolicyFile:
    """A policy with permissive safety limits unless ``safety`` says otherwise."""
    limits = (
        "max_step_pct = 1000\nmax_step_floor_ppm = 100000\nmax_base_step_msat = 100000\n"
        'min_interval = "1s"\nhysteresis_pct = 0\nhysteresis_ppm = 0\n'
    )
    return parse_policy(f"[safety]\n{safety or limits}\n{body}")
