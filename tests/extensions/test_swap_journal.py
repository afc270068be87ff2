"""Swaps journaled in the store and followed to their end (``lnpilot.rebalance.swaps``), on the
real Boltz 1.1.0 extension with the stand-in backend, on SQLite (and PostgreSQL when asked).

What is pinned: the intent is stored before the create, a second start with the same key
creates nothing, an intent whose answer was lost is found by lookup (or given up after the
grace period), a fresh desk on the same store (a restarted daemon) follows the open swaps
on, and each kind ends where Boltz 1.1.0 lets it: a submarine swap claimed once the backend
paid it, a reverse swap paid and then claimed only when the operator records the claim.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lnpilot.config import Settings
from lnpilot.devtools import LNbitsServer
from lnpilot.devtools.boltz_backend import BoltzBackend
from lnpilot.devtools.waiting import eventually
from lnpilot.lnbits import InvalidRequestError
from lnpilot.monitor import MonitorConfig
from lnpilot.node import LNbitsNode
from lnpilot.notify import Notifier, NotifyConfig
from lnpilot.rebalance.swaps import INTENT_GRACE, SwapChange, SwapDesk, SwapRequest, SwapStage
from lnpilot.service import Services
from lnpilot.service.daemon import EngineConfig, build_loops
from lnpilot.store import Store
from lnpilot.store import swaps as journal
from lnpilot.store.swaps import SwapRecord
from store.conftest import database_url, store

from .conftest import MakeClient, MakeWallet
from .test_boltz import ONCHAIN_ADDRESS, REFUND_ADDRESS

__all__ = ["database_url", "store"]

CREATE_REVERSE = "POST /boltz/api/v1/swap/reverse"
CREATE_SWAP = "POST /boltz/api/v1/swap"


class Clock:
    """Wall time that a test can push forward (the extension stamps swaps with wall time)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def _follow_until(desk: SwapDesk, swap_id: str | None, stage: str) -> SwapChange:
    async def probe() -> SwapChange | None:
        for change in await desk.follow():
            if change.swap_id == swap_id and change.after == stage:
                return change
        return None

    return await eventually(probe, f"swap {swap_id} to reach {stage}")


async def _events(store: Store, record: SwapRecord) -> list[str]:
    assert record.id is not None
    async with store.read() as reader:
        return [e.state for e in await journal.events(reader, [record.id])]


async def test_reverse_swap_is_created_once_paid_and_claimed_when_recorded(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient, store: Store
) -> None:
    client = ext_client(ext_wallet(200_000))
    desk = SwapDesk(client, store)
    request = SwapRequest("out", 100_000, ONCHAIN_ADDRESS)
    record = await desk.start(request, intent_key="t:reverse", created_by="test")
    assert (record.state, record.onchain_amount_sat) == ("created", 98_276)
    assert record.swap_id is not None and record.address is not None

    again = await desk.start(request, intent_key="t:reverse", created_by="test")
    assert again.id == record.id
    assert client.transport.stats[CREATE_REVERSE].requests == 1  # not created twice
    assert len(await client.boltz.reverse_swaps()) == 1

    change = await _follow_until(desk, record.swap_id, SwapStage.PAID)
    assert "never broadcasts the claim" in change.reason
    assert await desk.follow() == []  # paid waits for the claim: no change, no error
    claimed = await desk.mark_claimed(record.swap_id, "ab" * 32, by="alice")
    assert claimed.state == "claimed"
    assert await _events(store, record) == ["intent", "created", "paid", "claimed"]
    with pytest.raises(ValueError, match="only a paid swap out"):
        await desk.mark_claimed(record.swap_id, "cd" * 32, by="alice")


async def test_a_restarted_desk_follows_a_submarine_swap_to_its_claim(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient, store: Store
) -> None:
    keys = ext_wallet(0)
    first = SwapDesk(ext_client(keys), store)
    record = await first.start(
        SwapRequest("in", 60_000, REFUND_ADDRESS), intent_key="t:in", created_by="test"
    )
    assert record.state == "created" and record.swap_id is not None
    assert record.onchain_amount_sat == 61_420
    assert await first.follow() == []  # pending: nothing moved
    assert record.boltz_id is not None
    boltz_backend.pay_submarine_invoice(record.boltz_id)

    restarted = SwapDesk(ext_client(keys), store)  # a new process: only the store is shared
    change = await _follow_until(restarted, record.swap_id, SwapStage.CLAIMED)
    assert change.before == "created"
    async with store.read() as reader:
        assert await journal.open_swaps(reader) == []


async def test_a_lost_answer_is_found_by_lookup_before_anything_is_sent(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient, store: Store
) -> None:
    client = ext_client(ext_wallet(200_000))
    clock = Clock()
    now = clock()
    async with store.transaction() as tx:  # the intent of a process that died mid-call
        await journal.add_intent(
            tx,
            SwapRecord(
                intent_key="t:lost",
                kind="out",
                state="intent",
                amount_sat=80_000,
                created_by="test",
                created_at=now,
                updated_at=now,
                detail={"request_address": ONCHAIN_ADDRESS},
            ),
            "intent stored before creating",
        )
    made = await client.boltz.create_reverse_swap(80_000, onchain_address=ONCHAIN_ADDRESS)
    desk = SwapDesk(client, store, clock=clock)
    record = await desk.start(
        SwapRequest("out", 80_000, ONCHAIN_ADDRESS), intent_key="t:lost", created_by="test"
    )
    assert (record.state, record.swap_id) == ("created", made.id)
    assert client.transport.stats[CREATE_REVERSE].requests == 1  # only the "lost" one


async def test_an_intent_never_sent_is_given_up_after_the_grace_period(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient, store: Store
) -> None:
    client = ext_client(ext_wallet(0))
    clock = Clock()
    now = clock()
    async with store.transaction() as tx:
        await journal.add_intent(
            tx,
            SwapRecord(
                intent_key="t:never",
                kind="in",
                state="intent",
                amount_sat=70_000,
                created_by="test",
                created_at=now,
                updated_at=now,
                detail={"request_address": REFUND_ADDRESS},
            ),
            "intent stored before creating",
        )
    desk = SwapDesk(client, store, clock=clock)
    assert await desk.follow() == []  # too early to say: it stays an intent
    clock.offset = INTENT_GRACE
    [change] = await desk.follow()
    assert (change.before, change.after) == ("intent", "failed")
    assert "never reached LNbits" in change.reason
    assert CREATE_SWAP not in client.transport.stats


async def test_refused_create_fails_the_intent_and_is_not_retried(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient, store: Store
) -> None:
    client = ext_client(ext_wallet(0))
    desk = SwapDesk(client, store)
    request = SwapRequest("in", 1_000, REFUND_ADDRESS)
    with pytest.raises(InvalidRequestError, match="less than minimal"):
        await desk.start(request, intent_key="t:small", created_by="test")
    again = await desk.start(request, intent_key="t:small", created_by="test")
    assert again.state == "failed"
    assert client.transport.stats[CREATE_SWAP].requests == 1


async def test_an_unpaid_submarine_swap_expires_past_its_timeout(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient, store: Store
) -> None:
    desk = SwapDesk(ext_client(ext_wallet(0)), store)
    record = await desk.start(
        SwapRequest("in", 60_000, REFUND_ADDRESS), intent_key="t:exp", created_by="test"
    )
    assert record.timeout_block_height is not None
    assert await desk.follow(block_height=record.timeout_block_height - 1) == []
    [change] = await desk.follow(block_height=record.timeout_block_height)
    assert change.after == "expired" and "refund" in change.reason


async def test_refund_is_journaled_only_when_the_extension_did_it(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient, store: Store
) -> None:
    desk = SwapDesk(ext_client(ext_wallet(0)), store)
    record = await desk.start(
        SwapRequest("in", 60_000, REFUND_ADDRESS), intent_key="t:refund", created_by="test"
    )
    assert record.swap_id is not None and record.timeout_block_height is not None
    with pytest.raises(InvalidRequestError, match="Locktime requirement not satisfied"):
        await desk.refund(record.swap_id, by="alice")
    assert (await desk.follow()) == []  # still created: the refused refund changed nothing
    boltz_backend.tip_height = record.timeout_block_height + 1
    try:
        refunded = await desk.refund(record.swap_id, by="alice")
    finally:
        boltz_backend.tip_height = 1000
    assert refunded.state == "refunded"
    assert await _events(store, record) == ["intent", "created", "refunded"]


async def test_the_daemons_swaps_loop_resumes_open_swaps_from_the_store(
    boltz_backend: BoltzBackend,
    ext_server: LNbitsServer,
    ext_wallet: MakeWallet,
    ext_client: MakeClient,
    store: Store,
    tmp_path: Path,
) -> None:
    keys = ext_wallet(0)
    record = await SwapDesk(ext_client(keys), store).start(
        SwapRequest("in", 60_000, REFUND_ADDRESS), intent_key="t:daemon", created_by="test"
    )
    assert record.boltz_id is not None
    boltz_backend.pay_submarine_invoice(record.boltz_id)
    # A daemon started afterwards, on LNbits alone (FakeWallet: the node cannot tell its
    # height), with the wallet's client: its swaps loop finds the swap in the store.
    su = ext_server.superuser
    node = LNbitsNode(ext_client(username=su.username, password=su.password))
    services = Services(
        store=store,
        node=node,
        settings=Settings(lnbits={"url": ext_server.url}, data_dir=tmp_path),
        client=ext_client(keys),
    )
    loops = {
        loop.name: loop.run_once
        for loop in build_loops(
            services,
            EngineConfig(MonitorConfig(), NotifyConfig(), None),
            Notifier(store, NotifyConfig()),
        )
    }

    async def claimed() -> bool | None:
        await loops["swaps"]()
        async with store.read() as reader:
            return True if await journal.open_swaps(reader) == [] else None

    await eventually(claimed, "the daemon's swaps loop to see the swap claimed")
    async with store.read() as reader:
        found = await journal.by_id(reader, record.swap_id or "")
    assert found is not None and found.state == "claimed"
