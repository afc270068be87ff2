"""Who the payers are: the route-choice rules and fee limits of the wallets that pay.

On mainnet a payment is sent by LND, Core Lightning or an LDK wallet, each with its own
idea of a good route and of how much fee is too much. That is what decides how much traffic
a channel loses when its fee rises: LND charges every hop an attempt cost of 100 sat plus
1,000 ppm divided by the hop's success probability, so it picks short routes and barely
looks at fees; Core Lightning's `pay` and LDK's scorer charge a hop a few sat at most, so
among routes of similar length the cheaper one wins. A simulation where every payer is LND
has payers that hardly react to price (issue 13 measured it); a mix is closer to mainnet.

Each profile is two numbers for the path search (a per-hop penalty in msat and in ppm of the
amount, divided by the hop's success probability as simnet's search does for LND) and the
default fee limit of that implementation. Where a profile's penalty comes from:

- `lnd`: `routerrpc.attemptcost` 100 sat and `attemptcostppm` 1000 (LND's defaults); fee
  limit as lncli computes it when none is given (`lnwallet.DefaultRoutingFeeLimitForAmount`:
  100% up to 1,000 sat, 5% above).
- `cln`: `pay`'s risk cost `amount × cltv_delta × riskfactor / (52,596 × 100)` with
  riskfactor 10 and a CLTV delta of 80 is 152 ppm per hop; written as 91 ppm over the 0.6
  prior so that an unknown hop costs that. Fee limit: `maxfeepercent` 0.5% with
  `exemptfee` 5,000 msat.
- `ldk`: `ProbabilisticScoringFeeParameters::default()`: base 500 msat + anti-probing 250
  msat + 30,000 msat × −log10(p) ≈ 7.4 sat per hop at p = 0.6, written as 4,450 msat over
  the prior, plus `base_penalty_amount_multiplier_msat` 8,192 per 2^30 msat (8 ppm). Fee
  limit: 1% + 50 sat (`RouteParameters::from_payment_params_and_value`).

Which node runs which implementation is drawn from its pubkey (a hash, not the simulation's
random streams), so adding the mix changes no other random draw of a scenario.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from lnpilot.simnet.routing import ATTEMPT_COST_MSAT, ATTEMPT_COST_PPM


@dataclass(frozen=True, slots=True)
class SenderProfile:
    """How one payer implementation chooses routes and caps fees."""

    name: str
    #: Per-hop penalty of the path search, divided by the hop's success probability.
    hop_penalty_msat: int
    hop_penalty_ppm: int
    #: Default fee limit: `amt` itself up to `fee_limit_full_upto_msat`, else
    #: max(`fee_limit_floor_msat`, `fee_limit_base_msat` + amt × `fee_limit_ppm`).
    fee_limit_ppm: int
    fee_limit_base_msat: int = 0
    fee_limit_floor_msat: int = 0
    fee_limit_full_upto_msat: int = 0

    def fee_limit_msat(self, amt_msat: int) -> int:
        """The most this payer pays in routing fees for `amt_msat` when not told otherwise."""
        if amt_msat <= self.fee_limit_full_upto_msat:
            return amt_msat
        return max(
            self.fee_limit_floor_msat,
            self.fee_limit_base_msat + amt_msat * self.fee_limit_ppm // 1_000_000,
        )


LND = SenderProfile(
    "lnd",
    hop_penalty_msat=ATTEMPT_COST_MSAT,
    hop_penalty_ppm=ATTEMPT_COST_PPM,
    fee_limit_ppm=50_000,
    fee_limit_full_upto_msat=1_000_000,
)
CLN = SenderProfile(
    "cln", hop_penalty_msat=0, hop_penalty_ppm=91, fee_limit_ppm=5_000, fee_limit_floor_msat=5_000
)
LDK = SenderProfile(
    "ldk",
    hop_penalty_msat=4_450,
    hop_penalty_ppm=8,
    fee_limit_ppm=10_000,
    fee_limit_base_msat=50_000,
)
PROFILES: dict[str, SenderProfile] = {p.name: p for p in (LND, CLN, LDK)}

#: Share of payers per implementation. No public census of *paying* wallets exists (node
#: counts by implementation cover routing nodes, not payers); this mix is a stated guess,
#: see the calibration table in docs/simnet.md.
DEFAULT_SENDER_MIX: dict[str, float] = {"lnd": 0.6, "cln": 0.2, "ldk": 0.2}


def check_mix(mix: Mapping[str, float]) -> None:
    """ValueError naming the problem when `mix` is not a usable share per known profile."""
    unknown = sorted(set(mix) - set(PROFILES))
    if unknown:
        raise ValueError(f"unknown sender profile(s) {unknown}; known: {sorted(PROFILES)}")
    if any(share < 0 for share in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError("sender shares must be >= 0 and add up to more than 0")


def profile_for(pubkey: str, mix: Mapping[str, float]) -> SenderProfile:
    """The implementation a node pays with: a fixed point of [0, 1) from its pubkey's hash,
    placed on the cumulative shares of `mix` (in sorted name order, for stability)."""
    point = int.from_bytes(hashlib.sha256(f"sender:{pubkey}".encode()).digest()[:8]) / 2**64
    total = sum(mix.values())
    running = 0.0
    names = sorted(name for name, share in mix.items() if share > 0)
    for name in names:
        running += mix[name] / total
        if point < running:
            return PROFILES[name]
    return PROFILES[names[-1]]
