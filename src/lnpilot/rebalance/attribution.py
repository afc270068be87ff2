"""Did rebalancing pay for itself? Liquidity bought, its cost, and the fees it then earned.

A rebalance buys liquidity on our side of a target channel. That liquidity earns when
forwards leave through the channel afterwards; the fee of such a forward is attributed to
the bought liquidity in proportion of the part of its amount that liquidity carried,
first-in first-out: the oldest lot bought is spent first, and a forward uses only lots
bought before it. Forwards beyond what was bought earn for the channel's own liquidity,
not the rebalances'.

This is an upper bound of what rebalancing earned (some of those forwards would have
passed anyway, on liquidity that was there before), which is the right side to err on
when the question is whether it is worth its cost: a rebalancer whose attributed earnings
do not even cover its cost certainly loses money.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lnpilot.base.domain import Forward
from lnpilot.store import Store, rebalances
from lnpilot.store.rebalances import PENDING, AttemptRecord, RebalanceDecision


@dataclass(frozen=True)
class Bought:
    """Liquidity one rebalance moved into ``chan_id`` at ``at``, and what it cost."""

    chan_id: int
    at: datetime
    moved_msat: int
    fee_paid_msat: int


@dataclass
class Attribution:
    """One channel's rebalances, summed, with the forwards that spent their liquidity."""

    chan_id: int
    rebalances: int = 0
    bought_msat: int = 0
    cost_msat: int = 0
    sold_msat: int = 0
    earned_msat: int = 0

    @property
    def net_msat(self) -> int:
        return self.earned_msat - self.cost_msat

    @property
    def paid_for_itself(self) -> bool:
        return self.earned_msat >= self.cost_msat


def attribute(bought: Sequence[Bought], forwards: Sequence[Forward]) -> dict[int, Attribution]:
    """Per target channel, what its rebalances bought, cost and earned (module docstring).

    ``forwards`` may hold any forwards; those that did not leave through a channel with a
    rebalance are ignored.
    """
    found: dict[int, Attribution] = {}
    waiting: defaultdict[int, deque[Bought]] = defaultdict(deque)  # not bought yet
    unsold: defaultdict[int, deque[int]] = defaultdict(deque)  # msat left per lot, oldest first
    for lot in sorted(bought, key=lambda b: b.at):
        summary = found.setdefault(lot.chan_id, Attribution(lot.chan_id))
        summary.rebalances += 1
        summary.bought_msat += lot.moved_msat
        summary.cost_msat += lot.fee_paid_msat
        waiting[lot.chan_id].append(lot)
    for forward in sorted(forwards, key=lambda f: f.timestamp_ns):
        seller = found.get(forward.chan_id_out)
        if seller is None or forward.amt_out_msat <= 0:
            continue
        pending, lots = waiting[forward.chan_id_out], unsold[forward.chan_id_out]
        while pending and pending[0].at <= forward.timestamp:
            lots.append(pending.popleft().moved_msat)
        carried_msat = 0
        while lots and carried_msat < forward.amt_out_msat:
            take = min(lots[0], forward.amt_out_msat - carried_msat)
            lots[0] -= take
            carried_msat += take
            if lots[0] == 0:
                lots.popleft()
        seller.sold_msat += carried_msat
        seller.earned_msat += forward.fee_msat * carried_msat // forward.amt_out_msat
    return found


@dataclass(frozen=True)
class Rebalance:
    """One executed rebalance as journaled, with its attempts in order."""

    decision: RebalanceDecision
    attempts: tuple[AttemptRecord, ...]

    @property
    def cost_msat(self) -> int:
        """Fees paid, plus the route fee of attempts whose outcome is unknown (they may have
        been paid: the cost errs on the expensive side, as the budget does)."""
        unknown_msat = sum(a.route_fee_msat or 0 for a in self.attempts if a.outcome in PENDING)
        return (self.decision.fee_paid_msat or 0) + unknown_msat


@dataclass(frozen=True)
class History:
    """The rebalances started in ``[since, until)`` and, per target channel, whether they
    paid for themselves by ``until``."""

    since: datetime
    until: datetime
    rebalances: tuple[Rebalance, ...]
    channels: dict[int, Attribution]

    @property
    def cost_msat(self) -> int:
        return sum(a.cost_msat for a in self.channels.values())

    @property
    def earned_msat(self) -> int:
        return sum(a.earned_msat for a in self.channels.values())


async def history(
    store: Store, node_id: int, since: datetime, until: datetime, *, chan_id: int | None = None
) -> History:
    """The journal's rebalances (into ``chan_id`` if given) and their attribution."""
    async with store.read() as reader:
        done = await rebalances.executed(reader, node_id, since, chan_id=chan_id)
        done = [d for d in done if d.started_at is not None and d.started_at < until]
        tries = await rebalances.attempts(reader, [d.id for d in done if d.id is not None])
        targets = sorted({d.chan_id for d in done if d.chan_id is not None})
        forwards = [
            f
            for t in targets
            for f in await reader.forwards(node_id, since, until, chan_id=t)
            if f.chan_id_out == t  # a forward between two targets is read for both
        ]
    by_decision: defaultdict[int, list[AttemptRecord]] = defaultdict(list)
    for attempt in tries:
        by_decision[attempt.decision_id].append(attempt)
    found = tuple(Rebalance(d, tuple(by_decision[d.id or 0])) for d in done)
    bought = [
        Bought(
            r.decision.chan_id,
            r.decision.finished_at or r.decision.started_at or since,
            r.decision.moved_msat or 0,
            r.cost_msat,
        )
        for r in found
        if r.decision.chan_id is not None and r.decision.finished_at is not None
    ]
    return History(since, until, found, attribute(bought, forwards))
