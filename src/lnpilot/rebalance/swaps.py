"""Swaps through LNbits' Boltz extension, started at most once and followed to their end.

A swap is the rebalancer's second way to move liquidity (:mod:`.methods` prices it against
a circular rebalance), and an operator's (``lnpilot swap out|in``). Either way it goes
through :class:`SwapDesk`, which owns the swap's life in the store
(:mod:`lnpilot.store.swaps`):

============  =====================================================================
stage         meaning
============  =====================================================================
``intent``    stored, the create call may or may not have reached LNbits
``created``   the extension has the swap (``pending``)
``paid``      our side is paid: a reverse swap's Lightning payment left
``claimed``   the other side arrived: Boltz paid a submarine swap's invoice, or the
              operator recorded the on-chain claim of a reverse swap
``refunded``  a submarine swap's lockup came back to the refund address
``expired``   its timeout block passed before it ended
``failed``    refused at creation, or the extension marked it failed
============  =====================================================================

Why the intent first: a create that times out may still have made the swap (a reverse swap
PAYS). The intent row, unique per ``intent_key``, is written before the call; a second start
with the same key returns the stored swap instead of calling again, and an intent whose
answer was lost is resolved by looking for the swap among the wallet's swaps (same amount,
same address, made after the intent) before anything else happens. A restarted process finds
its open swaps in the store and :meth:`SwapDesk.follow` goes on with them.

Boltz 1.1.0 never broadcasts a reverse swap's claim (recorded in the contracts), so a
reverse swap stops at ``paid`` until the operator claims it with the stored claim key and
says so (:meth:`SwapDesk.mark_claimed`); past its timeout block it is ``expired``, loudly,
because Boltz may then take the lockup back.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from lnpilot.lnbits import LNbitsClient
from lnpilot.lnbits.errors import LNbitsError, NotFoundError, ServerError, TransportError
from lnpilot.lnbits.extension_models import BoltzPair, ReverseSwap, SubmarineSwap
from lnpilot.lnbits.resources.boltz import SwapQuote
from lnpilot.store import Store
from lnpilot.store import swaps as journal
from lnpilot.store.records import JsonValue
from lnpilot.store.swaps import SwapRecord

log = logging.getLogger(__name__)

SwapKind = Literal["out", "in"]

#: An intent not found among the wallet's swaps this long after it was written: the create
#: never reached LNbits (a create answers within seconds or times out).
INTENT_GRACE = timedelta(minutes=10)
#: A created swap's timestamp may precede the intent's by clock skew between the hosts.
_SKEW = timedelta(minutes=2)


class SwapStage(enum.StrEnum):
    INTENT = "intent"
    CREATED = "created"
    PAID = "paid"
    CLAIMED = "claimed"
    REFUNDED = "refunded"
    EXPIRED = "expired"
    FAILED = "failed"


@dataclass(frozen=True)
class SwapRequest:
    """What to create: ``address`` is where a reverse swap pays on-chain, or a submarine
    swap's refund address."""

    kind: SwapKind
    amount_sat: int
    address: str
    pair: str = "BTC/BTC"

    def __post_init__(self) -> None:
        """Refused here, before an intent is stored for a swap that cannot be asked for."""
        if self.kind not in ("out", "in"):
            raise ValueError(f"kind must be 'out' or 'in', got {self.kind!r}")
        if not isinstance(self.amount_sat, int) or self.amount_sat < 1:
            raise ValueError(f"amount_sat must be a whole number >= 1, got {self.amount_sat!r}")
        if not self.address.strip():
            raise ValueError("address must be an on-chain address, got an empty one")


@dataclass(frozen=True)
class SwapChange:
    """A swap that moved during :meth:`SwapDesk.follow`, and why."""

    row_id: int
    swap_id: str | None
    kind: str
    before: str
    after: str
    reason: str


def utc_now() -> datetime:
    return datetime.now(UTC)


class SwapDesk:
    """Starts swaps once and follows them, journaling every change in the store."""

    def __init__(
        self, client: LNbitsClient, store: Store, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._client = client
        self._store = store
        self._clock = clock

    async def start(
        self,
        request: SwapRequest,
        *,
        intent_key: str,
        created_by: str,
        approved_by: str | None = None,
        node_id: int | None = None,
        chan_id: int | None = None,
        quote: SwapQuote | None = None,
        cost_msat: int | None = None,
        reason: str = "asked for",
    ) -> SwapRecord:
        """Create the swap unless ``intent_key`` was used before; returns its record.

        An error whose request may have reached LNbits leaves the intent open and is
        resolved by lookup at once (and by :meth:`follow` later); it is not re-raised,
        since the swap may exist: the record's stage says what is known. ``cost_msat``
        (default: the quote's cost) is what the rebalancing budget counts for it.
        """
        now = self._clock()
        record = SwapRecord(
            intent_key=intent_key,
            kind=request.kind,
            state=SwapStage.INTENT.value,
            amount_sat=request.amount_sat,
            created_by=created_by,
            approved_by=approved_by,
            created_at=now,
            updated_at=now,
            node_id=node_id,
            chan_id=chan_id,
            boltz_fee_sat=quote.boltz_fee_sat if quote else None,
            miner_fee_sat=quote.miner_fee_sat if quote else None,
            cost_msat=cost_msat
            if cost_msat is not None
            else (quote.cost_sat * 1000 if quote else None),
            detail={"request_address": request.address, "pair": request.pair},
        )
        async with self._store.transaction() as tx:
            row_id = await journal.add_intent(
                tx, record, f"intent stored before creating: {reason}"
            )
            if row_id is None:
                existing = await journal.by_intent(tx, intent_key)
        if row_id is None:
            assert existing is not None  # the unique key said it exists
            log.info("swap %s: intent %s exists, not created again", existing.id, intent_key)
            if existing.state == SwapStage.INTENT:
                await self._resolve(existing)
                return await self._reload(intent_key)
            return existing
        try:
            created = await self._create(request)
        except LNbitsError as exc:
            if _maybe_created(exc):
                async with self._store.transaction() as tx:
                    await journal.add_event(
                        tx,
                        journal.SwapEvent(
                            row_id,
                            self._clock(),
                            SwapStage.INTENT.value,
                            f"create outcome unknown ({exc}); looking it up before anything else",
                        ),
                    )
                await self._resolve(await self._reload(intent_key))
                return await self._reload(intent_key)
            async with self._store.transaction() as tx:
                await journal.move(
                    tx,
                    row_id,
                    self._clock(),
                    state=SwapStage.FAILED.value,
                    reason=f"refused at creation: {exc}",
                )
            raise
        await self._adopt(row_id, created, "created")
        return await self._reload(intent_key)

    async def pairs(self) -> dict[str, BoltzPair]:
        """The backend's pairs, to price swaps (each call asks the backend)."""
        return await self._client.boltz.pairs()

    async def follow(self, *, block_height: int | None = None) -> list[SwapChange]:
        """One pass over the open swaps (resumes after a restart: they are in the store).
        ``block_height`` (the node's tip) lets swaps past their timeout expire."""
        async with self._store.read() as reader:
            open_swaps = await journal.open_swaps(reader)
        changes: list[SwapChange] = []
        for record in open_swaps:
            try:
                change = await self._follow_one(record, block_height)
            except LNbitsError as exc:  # LNbits out of reach: the next pass tries again
                log.warning("swap %s: could not follow: %s", record.swap_id or record.id, exc)
                continue
            if change is not None:
                changes.append(change)
        return changes

    async def mark_claimed(self, swap_id: str, txid: str, *, by: str) -> SwapRecord:
        """Record the on-chain claim of a paid reverse swap (Boltz 1.1.0 never makes it)."""
        async with self._store.transaction() as tx:
            record = await journal.by_id(tx, swap_id)
            if record is None:
                raise ValueError(f"no swap {swap_id!r} in the journal (lnpilot swap list)")
            if record.kind != "out" or record.state != SwapStage.PAID:
                raise ValueError(
                    f"swap {swap_id} is a swap {record.kind} in stage {record.state}; only a "
                    "paid swap out (reverse swap) waits for a claim"
                )
            assert record.id is not None
            await journal.move(
                tx,
                record.id,
                self._clock(),
                state=SwapStage.CLAIMED.value,
                reason=f"claim recorded by {by}: transaction {txid}",
                detail={"claim_txid": txid},
            )
        return await self._reload(record.intent_key)

    async def refund(self, swap_id: str, *, by: str) -> SwapRecord:
        """Refund a submarine swap past its timeout (its lockup goes back to the refund
        address); the extension refuses before the timeout, and the error is raised."""
        async with self._store.read() as reader:
            record = await journal.by_id(reader, swap_id)
        if record is None or record.swap_id is None or record.id is None:
            raise ValueError(f"no created swap {swap_id!r} in the journal (lnpilot swap list)")
        if record.kind != "in":
            raise ValueError(f"swap {swap_id} is a swap out: only a swap in has a refund")
        await self._client.boltz.refund(record.swap_id)
        async with self._store.transaction() as tx:
            await journal.move(
                tx,
                record.id,
                self._clock(),
                state=SwapStage.REFUNDED.value,
                reason=f"refund asked by {by}; the lockup goes back to the refund address",
            )
        return await self._reload(record.intent_key)

    # -- steps --------------------------------------------------------------------------------

    async def _create(self, request: SwapRequest) -> SubmarineSwap | ReverseSwap:
        boltz = self._client.boltz
        if request.kind == "out":
            return await boltz.create_reverse_swap(
                request.amount_sat, onchain_address=request.address, asset=request.pair
            )
        return await boltz.create_swap(
            request.amount_sat, refund_address=request.address, asset=request.pair
        )

    async def _adopt(self, row_id: int, swap: SubmarineSwap | ReverseSwap, how: str) -> None:
        """The extension's swap becomes the intent's: ids, amounts, address, timeout."""
        if isinstance(swap, ReverseSwap):
            onchain_sat, address = swap.onchain_amount_sat, swap.lockup_address
            reason = f"{how}: reverse swap {swap.id}, {swap.onchain_amount_sat:,} sat to arrive"
        else:
            onchain_sat, address = swap.expected_amount_sat, swap.address
            reason = (
                f"{how}: swap {swap.id}; send {swap.expected_amount_sat:,} sat to {address} "
                f"before block {swap.timeout_block_height}"
            )
        values = {
            "swap_id": swap.id,
            "boltz_id": swap.boltz_id,
            "wallet_id": swap.wallet,
            "onchain_amount_sat": onchain_sat,
            "address": address,
            "timeout_block_height": swap.timeout_block_height,
            "ext_status": swap.status,
        }
        async with self._store.transaction() as tx:
            await journal.move(
                tx,
                row_id,
                self._clock(),
                state=SwapStage.CREATED.value,
                reason=reason,
                values=values,
            )

    async def _resolve(self, record: SwapRecord) -> SwapChange | None:
        """An intent whose create answer was lost: find the swap, or give it up after the
        grace period (it never reached LNbits)."""
        assert record.id is not None
        address = record.detail.get("request_address")
        boltz = self._client.boltz
        candidates: list[SubmarineSwap | ReverseSwap] = []
        if record.kind == "out":
            candidates += [s for s in await boltz.reverse_swaps() if s.onchain_address == address]
        else:
            candidates += [s for s in await boltz.swaps() if s.refund_address == address]
        async with self._store.read() as reader:
            known = {r.swap_id for r in await journal.recent(reader, limit=1000)}
        found = [
            s
            for s in candidates
            if s.amount_sat == record.amount_sat
            and s.time >= record.created_at - _SKEW
            and s.id not in known
        ]
        if found:
            await self._adopt(record.id, min(found, key=lambda s: s.time), "found by lookup")
            return SwapChange(
                record.id,
                found[0].id,
                record.kind,
                record.state,
                SwapStage.CREATED,
                "found by lookup",
            )
        if self._clock() - record.created_at < INTENT_GRACE:
            return None
        reason = (
            f"not among the wallet's swaps {INTENT_GRACE} after the intent: the create never "
            "reached LNbits"
        )
        async with self._store.transaction() as tx:
            await journal.move(
                tx, record.id, self._clock(), state=SwapStage.FAILED.value, reason=reason
            )
        return SwapChange(record.id, None, record.kind, record.state, SwapStage.FAILED, reason)

    async def _follow_one(self, record: SwapRecord, block_height: int | None) -> SwapChange | None:
        assert record.id is not None
        if record.state == SwapStage.INTENT:
            return await self._resolve(record)
        assert record.swap_id is not None  # created and paid swaps have the extension's id
        try:
            status = (await self._client.boltz.swap_status(record.swap_id)).status
        except NotFoundError:
            status = "missing"
        stage, reason = _next_stage(record, status, block_height)
        async with self._store.transaction() as tx:
            if stage == record.state:
                await journal.note_status(tx, record.id, self._clock(), status)
                return None
            await journal.move(
                tx,
                record.id,
                self._clock(),
                state=stage,
                reason=reason,
                values={"ext_status": status},
                detail={"ext_status": status, "block_height": block_height},
            )
        return SwapChange(record.id, record.swap_id, record.kind, record.state, stage, reason)

    async def _reload(self, intent_key: str) -> SwapRecord:
        async with self._store.read() as reader:
            record = await journal.by_intent(reader, intent_key)
        assert record is not None
        return record


def _maybe_created(exc: LNbitsError) -> bool:
    """Whether a failed create may still have made the swap: the request left and no answer
    came, or LNbits failed half-way (a 5xx after the invoice or the backend swap existed)."""
    if isinstance(exc, TransportError):
        return exc.request_sent
    return isinstance(exc, ServerError)


def _next_stage(record: SwapRecord, status: str, block_height: int | None) -> tuple[str, str]:
    """The stage a created or paid swap moves to on the extension's ``status`` (Boltz 1.1.0
    says pending, complete, refunded or failed), and why."""
    timeout = record.timeout_block_height
    past_timeout = block_height is not None and timeout is not None and block_height >= timeout
    if status == "failed":
        return SwapStage.FAILED, "the extension marked it failed"
    if status == "missing":
        return SwapStage.FAILED, "the wallet no longer lists it"
    if record.kind == "in":
        if status == "complete":
            return SwapStage.CLAIMED, "Boltz paid our invoice: the Lightning side arrived"
        if status == "refunded":
            return SwapStage.REFUNDED, "the lockup was refunded to the refund address"
        if past_timeout:
            return SwapStage.EXPIRED, (
                f"block {block_height} passed the timeout {timeout} unpaid by Boltz; if "
                "funds were sent, refund them (lnpilot swap refund)"
            )
        return record.state, "pending"
    if status == "complete" and record.state == SwapStage.CREATED:
        return SwapStage.PAID, (
            "the Lightning payment left; Boltz 1.1.0 never broadcasts the claim: claim "
            "with the stored claim key, then `lnpilot swap claimed`"
        )
    if past_timeout:
        return SwapStage.EXPIRED, (
            f"block {block_height} passed the timeout {timeout} with no claim recorded: "
            "Boltz may take the lockup back"
        )
    return record.state, status


def swap_detail(record: SwapRecord) -> dict[str, JsonValue]:
    """A swap as the CLI and the journal show it (no keys, no preimages: the store has none)."""
    return {
        "row": record.id,
        "swap_id": record.swap_id,
        "kind": record.kind,
        "stage": record.state,
        "amount_sat": record.amount_sat,
        "onchain_amount_sat": record.onchain_amount_sat,
        "boltz_fee_sat": record.boltz_fee_sat,
        "miner_fee_sat": record.miner_fee_sat,
        "address": record.address,
        "timeout_block_height": record.timeout_block_height,
        "chan_id": record.chan_id,
        "intent_key": record.intent_key,
        "created_by": record.created_by,
        "approved_by": record.approved_by,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "ext_status": record.ext_status,
    }
