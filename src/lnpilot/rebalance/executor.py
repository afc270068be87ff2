"""Executors carry out a planned rebalance; the circular one does it through our own node.

An :class:`Executor` takes an :class:`~lnpilot.rebalance.planner.Order` (move so much into
this target channel, at most this fee) and reports every attempt to a :class:`Ledger`
before and after it costs anything. The ledger is the budget's last word: it may refuse an
attempt, and an executor never sends one it refused. Executors differ in how liquidity
moves:

- :class:`CircularExecutor` (needs a direct LND connection) pays an invoice of our own
  node along a route that leaves through the source channel and comes back through the
  target channel: route query with the outgoing channel fixed, then the route built with
  our node as the last hop (so the last channel is the target), then the invoice, then one
  HTLC with a timeout. After a liquidity failure it retries on half the amount, down to the
  order's minimum (amount probing: a failed HTLC costs nothing); after another failure it
  queries again at the same amount unless the node offers the very route that just failed.
- Through LNbits alone there is **no channel-targeted path**: LNbits pays invoices but
  cannot choose the outgoing channel or the last hop, so it cannot move liquidity between
  two given channels. :func:`executor_for` says so and names the configuration to add. A
  swap-based executor (submarine swaps through LNbits' Boltz extension, later) fits the
  same interface: it would ignore ``order.source``, reserve its swap fee through the ledger
  before starting, and settle it when the swap completes.

Payments are not idempotent: an HTLC whose outcome is unknown (timeout, broken connection,
still in flight) is never retried; it stays committed to the budget at its full route fee.
"""

from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass, replace
from typing import Protocol

from lnpilot.base.domain import Capability, Route, scid_from_chan_id
from lnpilot.node.backend import CapabilityMissing, NodeBackend, NodeError
from lnpilot.node.composite import CompositeNode
from lnpilot.rebalance.economics import PPM, fee_limit_msat, hop_fee_msat, sat_text
from lnpilot.rebalance.planner import Order
from lnpilot.store.records import JsonValue

#: Failures that mean a hop lacked liquidity for the amount: a smaller one may pass.
LIQUIDITY_FAILURES = frozenset({"TEMPORARY_CHANNEL_FAILURE"})

NO_CHANNEL_TARGETED_PATH = (
    "Through LNbits alone there is no channel-targeted path: LNbits pays invoices but cannot "
    "choose the outgoing channel or the last hop, so it cannot move liquidity between two "
    "given channels. Circular rebalancing needs a direct LND REST connection; swap-based "
    "rebalancing through LNbits' Boltz extension is planned."
)


class AttemptOutcome(enum.StrEnum):
    IN_FLIGHT = "in_flight"  # reserved and being sent
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the HTLC came back failed: nothing paid
    UNKNOWN = "unknown"  # no answer: may have been paid; counts at its route fee
    NO_ROUTE = "no_route"  # no route within the fee limit at this amount: nothing sent
    REFUSED = "refused"  # the budget refused it: nothing sent


class RebalanceOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # moved less than ordered (probing went down)
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Attempt:
    """One try of an order; ``route`` is None when none was found."""

    amount_msat: int
    fee_limit_msat: int
    outcome: AttemptOutcome
    route: Route | None = None
    payment_hash: str | None = None
    fee_paid_msat: int | None = None
    failure: str | None = None
    failure_source_index: int | None = None
    failed_chan_id: int | None = None
    duration_ms: int = 0

    @property
    def route_fee_msat(self) -> int | None:
        """The route's fees, None without a route: the journal's ``route_fee_msat``."""
        return self.route.total_fees_msat if self.route is not None else None

    @property
    def hops(self) -> list[JsonValue]:
        """The route as sent, ``[{"chan_id", "pubkey", "fee_msat"}, ...]``: the shape the
        journal keeps (``AttemptRecord.hops``), so both read alike."""
        return [
            {"chan_id": h.chan_id, "pubkey": h.pubkey, "fee_msat": h.fee_msat}
            for h in (self.route.hops if self.route is not None else ())
        ]


@dataclass(frozen=True)
class Execution:
    outcome: RebalanceOutcome
    moved_msat: int
    fee_paid_msat: int
    failure: str | None
    attempts: tuple[Attempt, ...]
    duration_ms: int


class Ledger(Protocol):
    """Where an executor reports its attempts (the runner writes them to the store)."""

    async def reserve(self, attempt: Attempt) -> int | None:
        """Record an attempt about to be sent, its route fee committed; None: refused."""

    async def record(self, attempt: Attempt) -> None:
        """Record an attempt that cost nothing and will not (no route, refused)."""

    async def settle(self, attempt_id: int, attempt: Attempt) -> None:
        """Record what became of a reserved attempt."""


class Executor(Protocol):
    name: str

    async def execute(self, order: Order, ledger: Ledger) -> Execution: ...


class _Next(enum.Enum):
    DONE = "done"
    SMALLER = "smaller"
    AGAIN = "again"
    STOP = "stop"


def executor_for(node: NodeBackend, *, timeout_s: float, max_attempts: int) -> Executor:
    """The executor the configured node allows, or CapabilityMissing that says what to add."""
    needed = {Capability.QUERY_ROUTES, Capability.SEND_TO_ROUTE, Capability.CIRCULAR_REBALANCE}
    missing = needed - node.capabilities
    if missing:
        parts = node.backends if isinstance(node, CompositeNode) else (node,)
        raise CapabilityMissing(missing, operation="rebalance", configured=[b.name for b in parts])
    return CircularExecutor(node, timeout_s=timeout_s, max_attempts=max_attempts)


class CircularExecutor:
    """Circular rebalances through our own node (module docstring)."""

    name = "circular"

    def __init__(
        self,
        node: NodeBackend,
        *,
        timeout_s: float,
        max_attempts: int,
        invoice_expiry_s: int = 3600,
    ) -> None:
        self._node = node
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._invoice_expiry_s = invoice_expiry_s
        self._pubkey: str | None = None

    async def execute(self, order: Order, ledger: Ledger) -> Execution:
        started = time.monotonic()
        amount_msat = order.amount_msat
        attempts: list[Attempt] = []
        just_failed: tuple[int, ...] | None = None  # a route that failed at this amount
        failure: str | None = None
        for _ in range(self._max_attempts):
            attempt, step = await self._attempt(order, amount_msat, just_failed, ledger)
            attempts.append(attempt)
            failure = _summary(attempt)
            if step is _Next.DONE:
                return Execution(
                    RebalanceOutcome.SUCCEEDED
                    if amount_msat >= order.amount_msat
                    else RebalanceOutcome.PARTIAL,
                    amount_msat,
                    attempt.fee_paid_msat or 0,
                    None,
                    tuple(attempts),
                    _ms_since(started),
                )
            if step is _Next.STOP:
                break
            just_failed = None
            if step is _Next.AGAIN and attempt.route is not None:
                just_failed = _chan_ids(attempt.route)
            if step is _Next.SMALLER:
                amount_msat //= 2
                if amount_msat < order.min_amount_msat:
                    failure = f"{failure}; half the amount is below the minimum"
                    break
        else:
            failure = f"{failure}; gave up after {self._max_attempts} attempts"
        unknown = any(a.outcome is AttemptOutcome.UNKNOWN for a in attempts)
        return Execution(
            RebalanceOutcome.UNKNOWN if unknown else RebalanceOutcome.FAILED,
            0,
            0,
            failure,
            tuple(attempts),
            _ms_since(started),
        )

    async def _attempt(
        self,
        order: Order,
        amount_msat: int,
        just_failed: tuple[int, ...] | None,
        ledger: Ledger,
    ) -> tuple[Attempt, _Next]:
        started = time.monotonic()
        limit_msat = min(fee_limit_msat(amount_msat, order.max_fee_ppm), order.fee_limit_msat)
        tried = Attempt(amount_msat, limit_msat, AttemptOutcome.NO_ROUTE)
        route, why, step = await self._route(order, amount_msat, limit_msat)
        if route is None:
            tried = replace(tried, failure=why, duration_ms=_ms_since(started))
            await ledger.record(tried)
            return tried, step
        tried = replace(tried, route=route)
        if _chan_ids(route) == just_failed:
            why = "the node offers only the route that just failed"
            tried = replace(tried, failure=why, duration_ms=_ms_since(started))
            await ledger.record(tried)
            return tried, _Next.SMALLER
        memo = f"lnpilot rebalance {order.source.scid} -> {order.target.scid}"
        invoice = await self._node.create_own_invoice(
            amount_msat, memo=memo, expiry_s=self._invoice_expiry_s
        )
        route = replace(route, payment_addr=invoice.payment_addr)
        sending = replace(
            tried, route=route, payment_hash=invoice.payment_hash, outcome=AttemptOutcome.IN_FLIGHT
        )
        attempt_id = await ledger.reserve(sending)
        if attempt_id is None:
            refused = replace(
                sending,
                outcome=AttemptOutcome.REFUSED,
                failure="budget exhausted",
                duration_ms=_ms_since(started),
            )
            await ledger.record(refused)
            return refused, _Next.STOP
        done, step = await self._send(sending, route, invoice.payment_hash, started)
        await ledger.settle(attempt_id, done)
        return done, step

    async def _route(
        self, order: Order, amount_msat: int, limit_msat: int
    ) -> tuple[Route | None, str, _Next]:
        """A route out through the source and back in through the target, within the limit."""
        source, target = order.source, order.target
        assert source.chan_id is not None and target.chan_id is not None  # planned: active
        last_hop_msat = (
            hop_fee_msat(target.remote_policy, amount_msat) if target.remote_policy else 0
        )
        if last_hop_msat > limit_msat:
            return None, "the target's peer alone costs more than the fee limit", _Next.STOP
        try:
            found = await self._node.query_routes(
                target.peer_pubkey,
                amount_msat + last_hop_msat,
                outgoing_chan_ids=[source.chan_id],
                fee_limit_msat=limit_msat - last_hop_msat,
            )
        except CapabilityMissing:
            raise
        except NodeError as exc:
            return None, f"no route: {exc}", _Next.SMALLER
        if not found:
            return None, "no route within the fee limit", _Next.SMALLER
        hops = [h.pubkey for h in found[0].hops] + [await self._our_pubkey()]
        try:
            built = await self._node.build_route(amount_msat, hops, outgoing_chan_id=source.chan_id)
        except CapabilityMissing:
            raise
        except NodeError as exc:
            return None, f"route building failed: {exc}", _Next.AGAIN
        if built.hops[-1].chan_id != target.chan_id:
            return None, "the route comes back over another channel with the peer", _Next.STOP
        if built.total_fees_msat > limit_msat:
            cost_ppm = built.total_fees_msat * PPM // amount_msat
            why = f"the route costs {cost_ppm} ppm, above the limit of {order.max_fee_ppm} ppm"
            return None, why, _Next.STOP
        return built, "", _Next.DONE

    async def _send(
        self, sending: Attempt, route: Route, payment_hash: str, started: float
    ) -> tuple[Attempt, _Next]:
        """Send the HTLC; an answer that does not settle it either way stops the order."""
        try:
            result = await asyncio.wait_for(
                self._node.send_to_route(payment_hash, route), self._timeout_s
            )
        except TimeoutError:
            why = f"no answer within {self._timeout_s:g} s; the outcome is unknown"
            return self._unknown(sending, why, started), _Next.STOP
        except NodeError as exc:
            return self._unknown(sending, f"sending failed, outcome unknown: {exc}", started), (
                _Next.STOP
            )
        if result.succeeded:
            paid = replace(
                sending,
                outcome=AttemptOutcome.SUCCEEDED,
                fee_paid_msat=route.total_fees_msat,
                duration_ms=_ms_since(started),
            )
            return paid, _Next.DONE
        if result.status != "FAILED":
            return self._unknown(sending, f"still {result.status}", started), _Next.STOP
        index = result.failure_source_index
        failed_chan = (
            route.hops[index].chan_id if index is not None and index < len(route.hops) else None
        )
        failed = replace(
            sending,
            outcome=AttemptOutcome.FAILED,
            failure=result.failure or "UNKNOWN_FAILURE",
            failure_source_index=index,
            failed_chan_id=failed_chan,
            duration_ms=_ms_since(started),
        )
        if failed_chan is None:  # our own node refused it at the end: retrying cannot help
            return failed, _Next.STOP
        if result.failure in LIQUIDITY_FAILURES:
            return failed, _Next.SMALLER
        return failed, _Next.AGAIN

    def _unknown(self, sending: Attempt, why: str, started: float) -> Attempt:
        return replace(
            sending, outcome=AttemptOutcome.UNKNOWN, failure=why, duration_ms=_ms_since(started)
        )

    async def _our_pubkey(self) -> str:
        if self._pubkey is None:
            self._pubkey = (await self._node.get_info()).pubkey
        return self._pubkey


def _summary(attempt: Attempt) -> str:
    """An attempt's failure in a few words, for the rebalance's own (the attempt keeps all)."""
    at = f"at {sat_text(attempt.amount_msat)} sat"
    if attempt.outcome is AttemptOutcome.FAILED:
        failed = attempt.failed_chan_id
        where = f"channel {scid_from_chan_id(failed)}" if failed is not None else "our node"
        return f"{attempt.failure} from {where} {at}"
    if attempt.outcome is AttemptOutcome.NO_ROUTE and (attempt.failure or "").startswith(
        "no route"
    ):
        return f"no route within the fee limit {at}"
    return f"{attempt.failure} {at}"


def _chan_ids(route: Route) -> tuple[int, ...]:
    return tuple(h.chan_id for h in route.hops)


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
