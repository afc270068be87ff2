"""client.boltz against the real Boltz 1.1.0 extension, its backend a stand-in built from the
recorded backend calls (the only double: no Boltz backend can run here).

Swaps are followed to their end: a submarine swap to `complete` once the backend paid its
invoice, a refund once the stand-in's tip passed the timeout, a reverse swap to `complete`
once the extension paid the backend's invoice.
"""

from __future__ import annotations

import pytest

from lnpilot.devtools import LNbitsServer
from lnpilot.devtools.boltz_backend import BoltzBackend, point_boltz_at
from lnpilot.devtools.waiting import eventually
from lnpilot.lnbits import InvalidRequestError, LNbitsClient, LNbitsError, NotFoundError

from .conftest import MakeClient, MakeWallet

REFUND_ADDRESS = "bcrt1qq09wgpk83fvzjdwuamvch03tjd76f0xfasze0z"
ONCHAIN_ADDRESS = "bcrt1qkvj8hzqfnkkspv4wndw08mfruppy07f3u6prf2"


async def _status_becomes(client: LNbitsClient, swap_id: str, status: str) -> str:
    async def probe() -> str | None:
        state = await client.boltz.swap_status(swap_id)
        return state.status if state.status == status else None

    return await eventually(probe, f"swap {swap_id} to become {status}")


async def test_pairs_and_settings(
    ext_server: LNbitsServer, boltz_backend: BoltzBackend, ext_client: MakeClient
) -> None:
    pairs = await ext_client().boltz.pairs()
    assert pairs["BTC/BTC"].limits.minimal_sat == 50_000
    assert pairs["BTC/BTC"].fees.percentage == 0.5
    su = ext_server.superuser
    admin = ext_client(username=su.username, password=su.password)
    assert (await admin.boltz.settings()).boltz_url == boltz_backend.url
    try:
        await admin.boltz.reset_settings()
        assert (await admin.boltz.settings()).boltz_network == "main"
        updated = await admin.boltz.update_settings(
            boltz_backend.url, boltz_network="regtest", boltz_network_liquid="elementsregtest"
        )
        assert updated.boltz_url == boltz_backend.url
    finally:
        point_boltz_at(ext_server, boltz_backend.url)


async def test_submarine_swap_completes_when_the_backend_pays(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    keys = ext_wallet(0)
    client = ext_client(keys)
    swap = await client.boltz.create_swap(100_000, refund_address=REFUND_ADDRESS)
    assert (swap.wallet, swap.status, swap.amount_sat) == (keys.wallet_id, "pending", 100_000)
    assert swap.expected_amount_sat == 101_460  # 0.1 % + 1,360 sat miner fee
    assert [s.id for s in await client.boltz.swaps()] == [swap.id]

    boltz_backend.pay_submarine_invoice(swap.boltz_id)
    await _status_becomes(client, swap.id, "complete")
    assert (await client.wallet.get(bypass_cache=True)).balance_msat == 100_000_000


async def test_refund_is_refused_before_the_timeout_and_done_after(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    client = ext_client(ext_wallet(0))
    swap = await client.boltz.create_swap(100_000, refund_address=REFUND_ADDRESS, feerate_sat_vb=3)
    with pytest.raises(InvalidRequestError, match="Locktime requirement not satisfied"):
        await client.boltz.refund(swap.id)
    boltz_backend.tip_height = swap.timeout_block_height + 1
    try:
        refunded = await client.boltz.refund(swap.id)
    finally:
        boltz_backend.tip_height = 1000
    assert refunded.status == "pending"  # the row as it was before the refund (recorded)
    state = await client.boltz.swap_status(swap.id)
    assert (state.status, state.source) == ("refunded", "swap list")
    with pytest.raises(LNbitsError, match="not pending"):
        await client.boltz.refund(swap.id)
    assert ("POST", "/broadcasttransaction") in boltz_backend.calls


async def test_reverse_swap_pays_out_and_completes_without_a_claim_broadcast(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    keys = ext_wallet(200_000)
    client = ext_client(keys)
    broadcasts_before = boltz_backend.calls.count(("POST", "/broadcasttransaction"))
    swap = await client.boltz.create_reverse_swap(100_000, onchain_address=ONCHAIN_ADDRESS)
    assert swap.onchain_amount_sat == 98_276  # 0.5 % and the 1,224 sat lockup fee
    await _status_becomes(client, swap.id, "complete")
    balance_msat = (await client.wallet.get(bypass_cache=True)).balance_msat
    assert balance_msat == 100_000_000
    assert [s.id for s in await client.boltz.reverse_swaps()] == [swap.id]
    # "complete" says the Lightning leg paid; the claim is never broadcast (recorded bug).
    assert boltz_backend.calls.count(("POST", "/broadcasttransaction")) == broadcasts_before


async def test_backend_errors_and_limits(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    client = ext_client(ext_wallet(1_000))
    with pytest.raises(InvalidRequestError, match="less than minimal of 50000"):
        await client.boltz.create_swap(1_000, refund_address=REFUND_ADDRESS)
    with pytest.raises(LNbitsError, match=r"[Ii]nsufficient"):
        await client.boltz.create_reverse_swap(100_000, onchain_address=ONCHAIN_ADDRESS)
    with pytest.raises(ValueError, match="amount_sat"):
        await client.boltz.create_swap(0, refund_address=REFUND_ADDRESS)


async def test_auto_reverse_swap_lifecycle(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    keys = ext_wallet(0)
    client = ext_client(keys)
    auto = await client.boltz.create_auto_swap(
        60_000, balance_sat=1_000, onchain_address=ONCHAIN_ADDRESS, feerate_limit_sat=5_000
    )
    assert (auto.wallet, auto.count) == (keys.wallet_id, 0)
    assert [a.id for a in await client.boltz.auto_swaps()] == [auto.id]
    with pytest.raises(LNbitsError, match="only 1 swap per wallet"):
        await client.boltz.create_auto_swap(
            60_000, balance_sat=1_000, onchain_address=ONCHAIN_ADDRESS
        )
    # Another wallet's auto swap is not deleted (the extension would answer "OK").
    with pytest.raises(NotFoundError, match="not one of this wallet's"):
        await ext_client(ext_wallet(0)).boltz.delete_auto_swap(auto.id)
    await client.boltz.delete_auto_swap(auto.id)
    assert await client.boltz.auto_swaps() == []


async def test_status_route_is_broken_so_the_lists_answer(
    boltz_backend: BoltzBackend, ext_wallet: MakeWallet, ext_client: MakeClient
) -> None:
    client = ext_client(ext_wallet(0))
    swap = await client.boltz.create_swap(60_000, refund_address=REFUND_ADDRESS)
    state = await client.boltz.swap_status(swap.id)
    assert (state.status, state.source) == ("pending", "swap list")
    assert client.transport.stats["POST /boltz/api/v1/swap/status"].requests == 1
    with pytest.raises(NotFoundError):
        await client.boltz.swap_status("no-such-swap")
