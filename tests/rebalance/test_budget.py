"""Budgets are never exceeded: not by any sequence of attempts, not by concurrent ones.

The ledger's rule is the runner's (:class:`lnpilot.rebalance.run.StoreLedger`): an attempt
goes out only if its route fee fits the room :func:`room` leaves for the spending since
:func:`periods`. The property replays random attempts through that rule and checks every
UTC day, every UTC month and every earnings window by plain arithmetic; the store test
runs the real ledger with many attempts racing for the last sats.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from lnpilot.base.domain import Route, RouteHop
from lnpilot.rebalance.budget import Spending, periods, room
from lnpilot.rebalance.executor import Attempt, AttemptOutcome
from lnpilot.rebalance.run import StoreLedger
from lnpilot.rebalance.settings import Budget
from lnpilot.store import Store, rebalances

from .conftest import NOW, parse_settings
from .test_journal import decision_id

START = datetime(2026, 1, 30, tzinfo=UTC)
_attempts = st.lists(
    st.tuples(
        st.integers(0, 70 * 24 * 60),  # minutes after START (across month ends)
        st.integers(1, 400_000),  # route fee msat
        st.sampled_from(["succeeded", "failed", "unknown"]),
        st.integers(0, 5_000_000),  # fees earned over the window at that time, msat
    ),
    max_size=120,
)


@settings(max_examples=400, deadline=None)
@given(
    _attempts,
    st.integers(0, 2000),
    st.integers(0, 20_000),
    st.integers(0, 100),
    st.integers(1, 60),
)
def test_no_sequence_of_attempts_spends_beyond_a_limit(
    attempts: list[tuple[int, int, str, int]],
    daily_sat: int,
    monthly_sat: int,
    share_pct: int,
    window_days: int,
) -> None:
    limits = Budget(
        daily_sat=daily_sat,
        monthly_sat=monthly_sat,
        earned_share_pct=share_pct,
        earned_window_days=window_days,
    )
    window = timedelta(days=window_days)
    committed: list[tuple[datetime, int]] = []  # what counts: paid, or maybe paid
    for minutes, fee_msat, outcome, earned_msat in sorted(attempts):
        at = START + timedelta(minutes=minutes)
        since = periods(at, window)
        spent = Spending(*(sum(f for t, f in committed if t >= s) for s in since))
        if fee_msat > room(limits, spent, earned_msat).msat:
            continue
        if outcome != "failed":
            committed.append((at, fee_msat))
        in_window = sum(f for t, f in committed if t >= at - window)
        assert in_window <= earned_msat * share_pct // 100
    by_day: defaultdict[object, int] = defaultdict(int)
    by_month: defaultdict[object, int] = defaultdict(int)
    for at, fee_msat in committed:
        by_day[at.date()] += fee_msat
        by_month[(at.year, at.month)] += fee_msat
    assert all(total <= daily_sat * 1000 for total in by_day.values())
    assert all(total <= monthly_sat * 1000 for total in by_month.values())


def _route(fee_msat: int) -> Route:
    hop = RouteHop(
        chan_id=1, pubkey="02" + "11" * 32, amt_to_forward_msat=10**6, fee_msat=0, expiry=800_000
    )
    return Route(10**6 + fee_msat, fee_msat, 800_100, (hop,))


async def test_racing_attempts_never_commit_more_than_the_budget(store: Store) -> None:
    settings_ = parse_settings("[rebalance.budget]\ndaily_sat = 1000\nmonthly_sat = 1000\n")
    node_id, decision = await decision_id(store)

    def ledger() -> StoreLedger:
        return StoreLedger(store, node_id, decision, settings_, 10**12, lambda: NOW)

    def attempt(fee_msat: int) -> Attempt:
        return Attempt(10**6, 10**6, AttemptOutcome.IN_FLIGHT, _route(fee_msat))

    async with store.read() as reader:
        before = await rebalances.spending(reader, node_id, [NOW - timedelta(days=1)])
    room_msat = 1_000_000 - before[0]
    ids = await asyncio.gather(*(ledger().reserve(attempt(70_000)) for _ in range(30)))
    accepted = [i for i in ids if i is not None]
    assert len(accepted) == room_msat // 70_000
    async with store.read() as reader:
        after = await rebalances.spending(reader, node_id, [NOW - timedelta(days=1)])
    assert after[0] - before[0] == 70_000 * len(accepted) <= room_msat
    # Settling one as failed frees its fee; one of unknown outcome keeps counting.
    failed = replace(attempt(70_000), outcome=AttemptOutcome.FAILED, failure="FEE_INSUFFICIENT")
    await ledger().settle(accepted[0], failed)
    assert await ledger().reserve(attempt(70_000)) is not None
    assert await ledger().reserve(attempt(70_000)) is None
