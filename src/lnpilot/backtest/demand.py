"""Demand fitted to the node's own history: who paid through us, how much, and when.

The store holds every forward the collector read and every forward that failed for lack of
liquidity (from the HTLC event stream). For each pair of peers (in → out) this module
counts them over the history window and fits:

- the rate: forwards plus liquidity failures per hour (a payment that failed for lack of
  our liquidity was demand all the same: a policy that keeps the channel stocked earns it);
- the amount: a log-normal distribution (median = exp of the mean log amount, sigma = the
  standard deviation of the log amounts), which is how payment sizes are spread;
- the daily pattern: the first harmonic of the hour of day. For a rate
  ``λ(1 + a·cos(2π(h − peak)/24))`` the mean of ``cos(2πh/24)`` over the events is
  ``a/2·cos(2π·peak/24)`` (and likewise for sin), so ``a = 2·|mean of e^{iθ}|`` and the
  peak is its angle: simnet's own rhythm, fitted by its moments.

A fitted pair becomes a scenario flow between two leaves placed beyond the two peers: a
payer behind the incoming peer pays a payee behind the outgoing one, so the payment can
route through us or through any rival route in the neighbourhood, as it could on mainnet.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from datetime import datetime

from lnpilot.base.domain import Channel, FailedForward, Forward

#: Fewer events than this give no daily pattern (a cosine fitted to a handful of points
#: is noise); the pair's rate is then flat.
MIN_EVENTS_FOR_PATTERN = 24
#: Fewer amounts than this give no spread: the sigma of LND's typical payments instead.
MIN_AMOUNTS_FOR_SIGMA = 5
ASSUMED_SIGMA = 1.2
#: Calibration never scales a pair's rate by more than this (or less than its inverse): a
#: pair the model cannot route through us at all is a gap in the model, not in demand.
MAX_CALIBRATION = 10.0
#: Largest amount a fitted flow draws, as a multiple of the largest one recorded.
MAX_AMOUNT_FACTOR = 2


@dataclass(frozen=True)
class PairDemand:
    """The fitted demand from one peer to another through us."""

    peer_in: str
    peer_out: str
    forwards: int
    liquidity_failures: int
    per_hour: float
    amount_median_sat: int
    amount_sigma: float
    amount_max_sat: int
    daily_amplitude: float
    peak_hour_utc: float
    #: What calibration multiplied the recorded rate by (see :func:`calibrated`).
    calibration: float = 1.0


@dataclass(frozen=True)
class Recorded:
    """What the store recorded over the window, on the channels the model has."""

    start: datetime
    end: datetime
    forwards: int
    fees_earned_msat: int
    liquidity_failures: int
    #: Forwards through channels that are not open now (not modelled, not compared).
    forwards_elsewhere: int

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass(frozen=True)
class FittedDemand:
    pairs: tuple[PairDemand, ...]
    recorded: Recorded
    #: Our forwards when the uncalibrated demand was replayed (None: not calibrated).
    uncalibrated_forwards: int | None = None


def log_normal(amounts_sat: list[int]) -> tuple[int, float]:
    """(median sat, sigma) of a log-normal fitted to positive amounts by its log moments."""
    logs = [math.log(a) for a in amounts_sat if a > 0]
    if not logs:
        raise ValueError("no positive amount to fit")
    median = max(1, round(math.exp(statistics.fmean(logs))))
    if len(logs) < MIN_AMOUNTS_FOR_SIGMA:
        return median, ASSUMED_SIGMA
    return median, round(statistics.pstdev(logs), 4)


def daily_pattern(times: list[datetime]) -> tuple[float, float]:
    """(amplitude 0..1, peak hour UTC) of the first harmonic of the events' hour of day."""
    if len(times) < MIN_EVENTS_FOR_PATTERN:
        return 0.0, 0.0
    angles = [2 * math.pi * (t.hour + t.minute / 60 + t.second / 3600) / 24 for t in times]
    c = statistics.fmean(math.cos(a) for a in angles)
    s = statistics.fmean(math.sin(a) for a in angles)
    amplitude = min(1.0, 2 * math.hypot(c, s))
    peak = (math.atan2(s, c) * 24 / (2 * math.pi)) % 24
    return round(amplitude, 4), round(peak, 2) % 24


def fit(
    channels: tuple[Channel, ...] | list[Channel],
    forwards: list[Forward],
    failed: list[FailedForward],
    start: datetime,
    end: datetime,
) -> FittedDemand:
    """The demand per peer pair from the window's forwards and liquidity failures."""
    hours = (end - start).total_seconds() / 3600
    if hours <= 0:
        raise ValueError(f"the history window is empty: {start} .. {end}")
    peer_of = {c.chan_id: c.peer_pubkey for c in channels if c.chan_id is not None}
    amounts: dict[tuple[str, str], list[int]] = {}
    times: dict[tuple[str, str], list[datetime]] = {}
    fails: dict[tuple[str, str], int] = {}
    elsewhere = 0
    fees_msat = 0
    for f in forwards:
        key = (peer_of.get(f.chan_id_in, ""), peer_of.get(f.chan_id_out, ""))
        if not all(key):
            elsewhere += 1
            continue
        amounts.setdefault(key, []).append(f.amt_out_msat // 1000)
        times.setdefault(key, []).append(f.timestamp)
        fees_msat += f.fee_msat
    liquidity = 0
    for ff in failed:
        if not ff.for_lack_of_liquidity or ff.chan_id_in is None or ff.chan_id_out is None:
            continue
        key = (peer_of.get(ff.chan_id_in, ""), peer_of.get(ff.chan_id_out, ""))
        if not all(key):
            continue
        liquidity += 1
        fails[key] = fails.get(key, 0) + 1
        times.setdefault(key, []).append(ff.timestamp)
        if ff.amt_out_msat:
            amounts.setdefault(key, []).append(ff.amt_out_msat // 1000)
    pairs = []
    for key in sorted(times):
        sizes = amounts.get(key) or [1]
        median, sigma = log_normal(sizes)
        amplitude, peak = daily_pattern(times[key])
        pairs.append(
            PairDemand(
                peer_in=key[0],
                peer_out=key[1],
                forwards=len(times[key]) - fails.get(key, 0),
                liquidity_failures=fails.get(key, 0),
                per_hour=len(times[key]) / hours,
                amount_median_sat=median,
                amount_sigma=sigma,
                amount_max_sat=max(median, max(sizes) * MAX_AMOUNT_FACTOR),
                daily_amplitude=amplitude,
                peak_hour_utc=peak,
            )
        )
    recorded = Recorded(
        start=start,
        end=end,
        forwards=len(forwards) - elsewhere,
        fees_earned_msat=fees_msat,
        liquidity_failures=liquidity,
        forwards_elsewhere=elsewhere,
    )
    return FittedDemand(pairs=tuple(pairs), recorded=recorded)


def balances_at_start(
    channels: tuple[Channel, ...] | list[Channel], forwards: list[Forward]
) -> dict[str, int]:
    """Our local balance per channel (by scid) when the window began, rewound from today's
    through the window's forwards: a forward in added its amount to our side of the
    incoming channel, a forward out took its amount from the outgoing one. Our own
    payments, invoices and rebalances are not rewound (the store's forwards do not hold
    them); the result is bounded by the capacity."""
    by_chan: dict[int, Channel] = {
        c.chan_id: c for c in channels if c.chan_id is not None and c.scid
    }
    local = {chan_id: c.local_balance_msat for chan_id, c in by_chan.items()}
    for f in forwards:
        if f.chan_id_in in local:
            local[f.chan_id_in] -= f.amt_in_msat
        if f.chan_id_out in local:
            local[f.chan_id_out] += f.amt_out_msat
    out = {}
    for chan_id, msat in local.items():
        chan = by_chan[chan_id]
        assert chan.scid is not None
        out[chan.scid] = max(0, min(chan.capacity_sat * 1000, msat))
    return out


def scaled(pairs: tuple[PairDemand, ...], factor: float) -> tuple[PairDemand, ...]:
    """The pairs with their recorded rates multiplied by `factor` (bounded by
    :data:`MAX_CALIBRATION` either way), which their ``calibration`` then records.

    Calibration scales all pairs by one factor, so that a replay of the recorded window
    forwards what the store recorded: in the model a payer sits right behind our peer and
    may take a rival route that real payers, further away, did not (or the other way
    round). One factor keeps the recorded mix of pairs; scaling pairs one by one was tried
    and see-saws, because the pairs share our channels' liquidity.
    """
    factor = min(MAX_CALIBRATION, max(1 / MAX_CALIBRATION, factor))
    return tuple(
        replace(
            pair,
            per_hour=pair.per_hour / pair.calibration * factor,
            calibration=round(factor, 4),
        )
        for pair in pairs
    )
