"""A sender's memory of what worked and what failed, fading with time (LND's mission control).

LND's apriori estimator keeps, per directed channel, the last failed amount and the last
successful amount with their times. A channel that just failed at amount A is taken to carry
nothing at or above A; the penalty fades back to the prior with a half-life (LND's default is
one hour). A channel that just carried S is very likely to carry S again. This is that
estimator, simplified: one record per directed channel, no node-level penalties.
"""

from __future__ import annotations

import math

#: LND `apriorihopprob`: chance that a channel nothing is known about carries an HTLC.
APRIORI_HOP_PROBABILITY = 0.6
#: LND's default half-life of a failure's penalty.
PENALTY_HALF_LIFE_NS = 3600 * 1_000_000_000
#: LND's probability for an amount at or below one that recently succeeded.
PREVIOUS_SUCCESS_PROBABILITY = 0.95
#: After this many half-lives a failure is forgotten (its penalty is < 1%).
_FORGET_AFTER_HALF_LIVES = 7


#: LND's apriori estimator's capacity factor (`routing/probability_apriori.go`): about 1
#: until the amount nears `capacityCutoffFraction` 0.75 of the capacity, falling over
#: `capacitySmearingFraction` 0.1 of it (0.998 at 10%, 0.924 at 50%, 0.5 at 75%, 0.076 at
#: 100%, as LND's own TestCapacityCutoff has it).
CAPACITY_CUTOFF_FRACTION = 0.75
CAPACITY_SMEARING_FRACTION = 0.1


def capacity_factor(amt_msat: float, capacity_msat: float) -> float:
    """LND's capacity factor: how much a channel's size lowers the prior for `amt_msat`."""
    exponent = (CAPACITY_CUTOFF_FRACTION - amt_msat / capacity_msat) / CAPACITY_SMEARING_FRACTION
    if exponent < -700.0:  # far past the cutoff: exp would overflow; the factor is 0
        return 0.0
    return 1.0 - 1.0 / (1.0 + math.exp(exponent))


def apriori_probability(amt_msat: int, capacity_msat: int) -> float:
    """The prior chance that a channel of that capacity can carry `amt_msat`.

    LND's apriori estimator: `apriorihopprob` times its capacity factor. Not the linear
    `1 - amt/capacity` simnet used before, which halved the prior of a channel at half its
    capacity where LND keeps 92% of it, and so steered large payments onto the biggest
    channels (ours among them) whatever their fee (docs/simnet.md, "Why the ceiling won").
    """
    if amt_msat >= capacity_msat:
        return 0.0
    return APRIORI_HOP_PROBABILITY * capacity_factor(amt_msat, capacity_msat)


class MissionControl:
    """Per-sender results by directed channel key (`chan_id << 1 | direction`)."""

    __slots__ = ("_failures", "_successes")

    def __init__(self) -> None:
        self._failures: dict[int, tuple[int, int]] = {}
        self._successes: dict[int, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self._failures)

    def known_keys(self) -> set[int]:
        """Directed channels with a remembered result (their probability is not the prior)."""
        return self._failures.keys() | self._successes.keys()

    def report_failure(self, key: int, amt_msat: int, now_ns: int) -> None:
        """The channel could not carry `amt_msat` now (it keeps the smallest recent one)."""
        previous = self._failures.get(key)
        if previous is not None and self._weight(previous[1], now_ns) > 0.5:
            amt_msat = min(amt_msat, previous[0])
        self._failures[key] = (amt_msat, now_ns)

    def report_success(self, key: int, amt_msat: int, now_ns: int) -> None:
        """The channel carried `amt_msat` now; a failure at or below it is outdated."""
        self._successes[key] = (amt_msat, now_ns)
        failure = self._failures.get(key)
        if failure is not None and failure[0] <= amt_msat:
            del self._failures[key]

    def penalised(self, key: int, amt_msat: int, now_ns: int) -> bool:
        """Whether a remembered failure still weighs on sending `amt_msat` over `key`."""
        failure = self._failures.get(key)
        if failure is None or amt_msat < failure[0]:
            return False
        if now_ns - failure[1] > _FORGET_AFTER_HALF_LIVES * PENALTY_HALF_LIFE_NS:
            del self._failures[key]
            return False
        return True

    def probability(self, key: int, amt_msat: int, capacity_msat: int, now_ns: int) -> float:
        """The chance that `key` carries `amt_msat`, from the prior and what was seen."""
        # `apriori_probability` and `_weight`, inlined: route searches ask this for every
        # channel the sender remembers
        if amt_msat >= capacity_msat:
            prior = 0.0
        else:
            prior = APRIORI_HOP_PROBABILITY * capacity_factor(amt_msat, capacity_msat)
        success = self._successes.get(key)
        if success is not None and amt_msat <= success[0]:
            weight = math.pow(0.5, max(0, now_ns - success[1]) / PENALTY_HALF_LIFE_NS)
            prior = max(prior, PREVIOUS_SUCCESS_PROBABILITY * weight)
        failure = self._failures.get(key)
        if failure is not None and amt_msat >= failure[0]:
            prior *= 1.0 - math.pow(0.5, max(0, now_ns - failure[1]) / PENALTY_HALF_LIFE_NS)
        return prior

    @staticmethod
    def _weight(event_ns: int, now_ns: int) -> float:
        """How much an observation still counts: 1 when fresh, halving every half-life."""
        return math.pow(0.5, max(0, now_ns - event_ns) / PENALTY_HALF_LIFE_NS)
