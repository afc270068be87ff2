"""The demand fit on hand-made histories: rates, log-normal amounts, daily pattern, the
rewound balances and the calibration's bounds."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from lnpilot.backtest.demand import (
    MAX_CALIBRATION,
    balances_at_start,
    daily_pattern,
    fit,
    log_normal,
    scaled,
)
from lnpilot.base.domain import Channel, ChannelState, FailedForward, Forward

START = datetime(2026, 3, 1, tzinfo=UTC)
A, B, C = "02" + "a" * 64, "02" + "b" * 64, "02" + "c" * 64


def channel(chan_id: int, peer: str, local_msat: int, capacity_sat: int = 1_000_000) -> Channel:
    return Channel(
        scid=f"800000x{chan_id}x0",
        chan_id=chan_id,
        channel_point=f"{chan_id:064x}:0",
        peer_pubkey=peer,
        capacity_sat=capacity_sat,
        local_balance_msat=local_msat,
        remote_balance_msat=capacity_sat * 1000 - local_msat,
        state=ChannelState.ACTIVE,
    )


def forward(at: datetime, chan_in: int, chan_out: int, amt_sat: int, fee_msat: int) -> Forward:
    return Forward(
        timestamp=at,
        timestamp_ns=int(at.timestamp() * 1e9),
        chan_id_in=chan_in,
        chan_id_out=chan_out,
        amt_in_msat=amt_sat * 1000 + fee_msat,
        amt_out_msat=amt_sat * 1000,
        fee_msat=fee_msat,
    )


CHANNELS = [channel(1, A, 500_000_000), channel(2, B, 500_000_000), channel(3, C, 500_000_000)]


def test_log_normal_by_log_moments() -> None:
    # logs of 1,000 / 10,000 / 100,000 / 1,000 / 100,000: mean ln(10,000), pstdev ln(10)·√0.8
    median, sigma = log_normal([1_000, 10_000, 100_000, 1_000, 100_000])
    assert median == 10_000
    assert sigma == pytest.approx(math.log(10) * math.sqrt(0.8), abs=1e-4)
    assert log_normal([400, 900]) == (600, 1.2)  # too few for a spread: the assumed one
    with pytest.raises(ValueError, match="no positive amount"):
        log_normal([0])


def test_daily_pattern_finds_the_peak_and_its_strength() -> None:
    # All events at 19:00: the strongest pattern there is, peaking at 19.
    assert daily_pattern([START.replace(hour=19)] * 30) == (1.0, 19.0)
    # Evenly over the 24 hours: no pattern.
    flat = [START + timedelta(hours=h) for h in range(48)]
    amplitude, _ = daily_pattern(flat)
    assert amplitude == pytest.approx(0.0, abs=1e-9)
    # Too few events to fit a cosine to.
    assert daily_pattern([START] * 5) == (0.0, 0.0)


def test_fit_counts_pairs_rates_and_liquidity_failures() -> None:
    end = START + timedelta(hours=10)
    forwards = [forward(START + timedelta(hours=i), 1, 2, 10_000, 500) for i in range(6)]
    forwards.append(forward(START, 2, 3, 50_000, 1_000))
    forwards.append(forward(START, 9, 3, 50_000, 1_000))  # a channel closed since
    failed = [
        FailedForward(START, 1, 2, 20_000_000, 20_000_000, "INSUFFICIENT_BALANCE"),
        FailedForward(START, 1, 2, 20_000_000, 20_000_000, "FEE_INSUFFICIENT"),  # not liquidity
    ]
    demand = fit(CHANNELS, forwards, failed, START, end)
    pairs = {(p.peer_in, p.peer_out): p for p in demand.pairs}
    assert set(pairs) == {(A, B), (B, C)}
    ab = pairs[(A, B)]
    assert (ab.forwards, ab.liquidity_failures) == (6, 1)
    assert ab.per_hour == pytest.approx(0.7)  # (6 forwards + 1 failure) / 10 h
    assert pairs[(B, C)].per_hour == pytest.approx(0.1)
    recorded = demand.recorded
    assert (recorded.forwards, recorded.forwards_elsewhere) == (7, 1)
    assert recorded.fees_earned_msat == 6 * 500 + 1_000
    assert recorded.liquidity_failures == 1
    with pytest.raises(ValueError, match="history window is empty"):
        fit(CHANNELS, forwards, failed, end, START)


def test_balances_are_rewound_through_the_window_and_bounded() -> None:
    # 2 forwards A→B of 100,000 sat (fee 1 sat): our side on A grew, on B shrank.
    forwards = [forward(START, 1, 2, 100_000, 1_000)] * 2
    then = balances_at_start(CHANNELS, forwards)
    assert then["800000x1x0"] == 500_000_000 - 2 * 100_001_000
    assert then["800000x2x0"] == 500_000_000 + 2 * 100_000_000
    assert then["800000x3x0"] == 500_000_000
    # More out than the channel holds: bounded by the capacity.
    big = [forward(START, 1, 2, 900_000, 0)]
    assert balances_at_start(CHANNELS, big)["800000x2x0"] == 1_000_000_000


def test_scaling_keeps_the_mix_and_its_bounds() -> None:
    forwards = [forward(START, 1, 2, 10_000, 0)] * 4 + [forward(START, 2, 3, 10_000, 0)] * 2
    pairs = fit(CHANNELS, forwards, [], START, START + timedelta(hours=2)).pairs
    twice = scaled(pairs, 2.0)
    assert [p.per_hour for p in twice] == [4.0, 2.0]
    assert all(p.calibration == 2.0 for p in twice)
    again = scaled(twice, 0.5)  # the factor is over the recorded rates, not compounded
    assert [p.per_hour for p in again] == [1.0, 0.5]
    assert scaled(pairs, 1e6)[0].calibration == MAX_CALIBRATION
