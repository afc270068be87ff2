"""Ways to refill a channel, priced side by side: circular rebalance, swap in, inbound discount;
and the way to drain one that is too full: swap out.

A channel below its band needs outbound liquidity. Three ways get it there, at different
prices and certainties:

- **circular**: pay ourselves from a source channel round to the target; its price is the
  fee limit the economic guard allows (:mod:`.economics`), the most it may pay: the route's
  real fee is only known once a route is found, so the comparison is on what may be spent;
- **swap in** (a Boltz submarine swap through LNbits): we send on-chain, Boltz pays our
  invoice over Lightning; its price is known up front: Boltz's percentage, the miner fee of
  its lockup claim, and our own funding transaction (``funding_feerate_sat_vb`` ×
  ``funding_vbytes``, which Boltz cannot know). It forgoes no source's fee, so its limit is
  the target's fee rate × ``fee_factor_pct`` (capped by ``max_fee_ppm``). LNbits cannot say
  which channel the payment arrives through: it refills the node, the target only when the
  target is the way in;
- **inbound discount**: a negative inbound fee on the target makes payments that enter
  through it cheaper, so the network refills it; it costs the discount on what flows in,
  but nothing guarantees when. Inbound fees are the fee engine's to set (the engines do not
  act for each other), so the rebalancer prices it as advice and never chooses it.

- **swap out** (a Boltz reverse swap, for a channel whose local side is too full and that no
  target needs as a source): we pay Lightning out, receive on-chain; its price is Boltz's
  percentage and the miner fees of its lockup and our claim (no funding transaction of
  ours). LNbits' pay has no outgoing-channel option, so it drains the channel only when the
  node's router sends the payment through it; the rebalancer offers it, never starts it
  (it needs an on-chain address to receive on: ``lnpilot swap out --channel``).

:func:`price_swap_in`, :func:`price_swap_out` and :func:`price_inbound_discount` give each
method its cost or why it
cannot be used, :func:`choose` the cheapest usable per million moved. Every line goes into
the journal, chosen or not, so an operator can see what each refill would have cost the
other ways.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lnpilot.lnbits.extension_models import BoltzPair
from lnpilot.lnbits.resources.boltz import SwapQuote, quote_swap
from lnpilot.rebalance.economics import PPM, sat_text
from lnpilot.store.records import JsonValue


class Method(enum.StrEnum):
    CIRCULAR = "circular"
    SWAP_IN = "swap_in"
    SWAP_OUT = "swap_out"
    INBOUND_DISCOUNT = "inbound_discount"


@dataclass(frozen=True)
class Priced:
    """One method for one refill: what it would cost (msat, and ppm of ``amount_msat``), or
    why it cannot be used (``usable`` False, ``reason`` says why)."""

    method: Method
    amount_msat: int
    cost_msat: int | None
    usable: bool
    reason: str

    @property
    def cost_ppm(self) -> int | None:
        if self.cost_msat is None or self.amount_msat == 0:
            return None
        return self.cost_msat * PPM // self.amount_msat

    def as_json(self) -> dict[str, JsonValue]:
        return {
            "method": self.method.value,
            "amount_msat": self.amount_msat,
            "cost_msat": self.cost_msat,
            "cost_ppm": self.cost_ppm,
            "usable": self.usable,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SwapOffer:
    """The Boltz pair the swaps are priced on, and our own funding cost."""

    pair_id: str
    pair: BoltzPair
    funding_fee_sat: int


def price_swap_in(
    amount_msat: int, offer: SwapOffer, *, max_fee_ppm: int, left_msat: int
) -> tuple[Priced, SwapQuote | None]:
    """A submarine swap of ``amount_msat`` (whole sats: Boltz counts sats), its quote."""
    return _price_swap(Method.SWAP_IN, amount_msat, offer, max_fee_ppm, left_msat)


def price_swap_out(
    amount_msat: int, offer: SwapOffer, *, max_fee_ppm: int, left_msat: int
) -> tuple[Priced, SwapQuote | None]:
    """A reverse swap of ``amount_msat`` (whole sats), its quote: what draining costs."""
    return _price_swap(Method.SWAP_OUT, amount_msat, offer, max_fee_ppm, left_msat)


def _price_swap(
    method: Method, amount_msat: int, offer: SwapOffer, max_fee_ppm: int, left_msat: int
) -> tuple[Priced, SwapQuote | None]:
    """One rule for both kinds: within the pair's limits, under ``max_fee_ppm`` of what
    moves, within the budget left. Only a swap in pays our own funding transaction."""
    amount_sat = amount_msat // 1000
    if amount_sat < 1:
        return Priced(method, amount_msat, None, False, "under 1 sat"), None
    swap_in = method is Method.SWAP_IN
    quote = quote_swap(offer.pair_id, offer.pair, "in" if swap_in else "out", amount_sat)
    funding_fee_sat = offer.funding_fee_sat if swap_in else 0
    moved_msat = amount_sat * 1000
    cost_msat = (quote.cost_sat + funding_fee_sat) * 1000
    parts = f"Boltz {quote.boltz_fee_sat:,} + miners {quote.miner_fee_sat:,}" + (
        f" + our funding {funding_fee_sat:,} sat" if swap_in else " sat"
    )
    limits = offer.pair.limits
    if not quote.within_limits:
        reason = (
            f"{amount_sat:,} sat is outside the pair's limits "
            f"({limits.minimal_sat:,}..{limits.maximal_sat:,} sat)"
        )
        return Priced(method, moved_msat, cost_msat, False, reason), quote
    cost_ppm = cost_msat * PPM // moved_msat
    if cost_ppm > max_fee_ppm:
        who = "the target" if swap_in else "the channel"
        reason = f"{parts} = {cost_ppm:,} ppm, above the {max_fee_ppm:,} ppm {who} earns back"
        return Priced(method, moved_msat, cost_msat, False, reason), quote
    if cost_msat > left_msat:
        reason = f"{parts} exceeds the budget left ({sat_text(left_msat)} sat)"
        return Priced(method, moved_msat, cost_msat, False, reason), quote
    return Priced(method, moved_msat, cost_msat, True, f"{parts} = {cost_ppm:,} ppm"), quote


def price_inbound_discount(amount_msat: int, discount_ppm: int, scid: str | None) -> Priced:
    """What a ``discount_ppm`` inbound discount costs on ``amount_msat`` flowing in."""
    cost_msat = amount_msat * discount_ppm // PPM
    reason = (
        f"advice only: an inbound discount of {discount_ppm} ppm on {scid} would cost "
        f"{sat_text(cost_msat)} sat on {sat_text(amount_msat)} sat flowing in, with no "
        "date; inbound fees are the fee engine's to set (fees.toml)"
    )
    return Priced(Method.INBOUND_DISCOUNT, amount_msat, cost_msat, False, reason)


def choose(priced: list[Priced]) -> Priced | None:
    """The cheapest usable method per million moved; a tie goes to the first listed (circular
    first: it moves liquidity to the very channel, a swap only to the node)."""
    usable = [p for p in priced if p.usable and p.cost_ppm is not None]
    if not usable:
        return None
    return min(usable, key=lambda p: p.cost_ppm or 0)
