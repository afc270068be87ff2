"""A real LNbits 1.6.2 (LndRestWallet) on the LND REST face of a simulated node.

What LNbits shows and does must follow the simulation, and the other way round: channels
listed, closed, opened and confirmed in the simulation; fees set through LNbits landing in
the simulated policy; invoices paid by simulated senders; LNbits' payments routed over the
simulated network, fees included. Everything goes through lnpilot's LNbits client.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import httpx
import pytest

from lnpilot.devtools import (
    LNbitsServer,
    LndRestFunding,
)
from lnpilot.lnbits import LNbitsClient
from lnpilot.lnbits.models import NodeChannel
from lnpilot.simnet.invoices import InvoiceRequest
from lnpilot.simnet.lnd_rest import MACAROON_HEADER, FaceServer, serve
from lnpilot.simnet.model import Channel, Node, Policy
from lnpilot.simnet.network import NetworkConfig, SimNetwork
from lnpilot.simnet.our_node import OurNode
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.secp256k1 import pubkey_of
from real_lnbits import lnbits_for_tests

pytestmark = pytest.mark.lnbits

MACAROON = "0201036c6e64" + "5a" * 26
WAIT_S = 20.0
_T = TypeVar("_T")


@dataclass
class World:
    """The simulation, its face and the LNbits on top."""

    net: SimNetwork
    payer: Payer
    ours: OurNode
    lock: threading.RLock
    nodes: dict[str, str]
    chans: dict[str, Channel]
    face: FaceServer
    lnbits: LNbitsServer

    def client(self) -> LNbitsClient:
        wallet = self.lnbits.superuser.wallet
        return LNbitsClient(
            self.lnbits.url,
            invoice_key=wallet.inkey,
            admin_key=wallet.adminkey,
            access_token=self.lnbits.superuser.access_token,
        )

    def face_get(self, path: str) -> httpx.Response:
        return httpx.get(self.face.url + path, headers={MACAROON_HEADER: MACAROON}, timeout=10)

    def mine(self, blocks: int) -> None:
        with self.lock:
            for _ in range(blocks):
                self.net.mine_block()


def _network() -> tuple[SimNetwork, dict[str, str], dict[str, Channel]]:
    """alice — bob (ours) — carol — frank, bob — erin; dave has no channel yet.

    The network starts now, as a real node's clock would: LNbits and lnpilot's client check
    invoice timestamps against the wall clock and refuse invoices that look expired.
    """
    net = SimNetwork(seed=3, config=NetworkConfig(start=datetime.now(UTC)))
    nodes: dict[str, str] = {}
    for key, name in enumerate(("alice", "bob", "carol", "dave", "erin", "frank"), start=11):
        pubkey = pubkey_of(key).hex()
        net.add_node(Node(pubkey, name, privkey=key, onchain_balance_sat=10_000_000))
        nodes[name] = pubkey

    def policy(base_fee_msat: int, fee_rate_ppm: int) -> Policy:
        return Policy(base_fee_msat, fee_rate_ppm, max_htlc_msat=990_000_000)

    chans: dict[str, Channel] = {}
    for scid, (a, b) in {
        "800000x1x0": ("alice", "bob"),
        "800000x2x0": ("bob", "carol"),
        "800000x3x0": ("carol", "frank"),
        "800000x4x0": ("bob", "erin"),
    }.items():
        chans[f"{a}-{b}"] = net.add_channel(
            nodes[a],
            nodes[b],
            1_000_000,
            500_000_000,
            policy(1000, 100),
            policy(2000, 500),
            scid=scid,
        )
    return net, nodes, chans


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    net, nodes, chans = _network()
    payer = Payer(net)
    ours = OurNode(net, payer, nodes["bob"])
    lock = threading.RLock()
    face = serve(ours, MACAROON, lock=lock)
    try:
        with lnbits_for_tests(LNbitsServer(funding=LndRestFunding(face.url, MACAROON))) as lnbits:
            lnbits.fund(lnbits.superuser.wallet.wallet_id, 100_000)
            yield World(net, payer, ours, lock, nodes, chans, face, lnbits)
    finally:
        face.stop()


async def _eventually(probe: Callable[[], Awaitable[_T | None]], what: str) -> _T:
    """Poll `probe` until it returns something, for at most WAIT_S seconds."""
    deadline = time.monotonic() + WAIT_S
    while True:
        result = await probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


def _by_point(channels: list[NodeChannel], point: str) -> NodeChannel | None:
    return next((c for c in channels if c.point is not None and str(c.point) == point), None)


async def test_node_api_lists_our_channels(world: World) -> None:
    async with world.client() as client:
        channels = await client.node.channels(bypass_cache=True)
        info = await client.node.info(bypass_cache=True)
    ours = {c.channel_point: c for c in world.ours.channels()}
    listed = {str(c.point): c for c in channels if c.state == "active"}
    assert set(ours) <= set(listed)
    for point, view in ours.items():
        assert listed[point].id == str(view.chan_id)
        assert listed[point].peer_id == view.remote_pubkey
        assert listed[point].balance.local_msat == view.local_balance_msat
        assert listed[point].balance.total_msat == view.capacity_sat * 1000
    assert info.id == world.nodes["bob"]
    assert info.blockheight == world.net.chain.block_height


async def test_fee_set_through_lnbits_changes_the_simulated_policy(world: World) -> None:
    chan = world.chans["bob-carol"]
    async with world.client() as client:
        await client.node.set_fees(str(chan.chan_id), fee_ppm=321, fee_base_msat=1500)
    side = chan.side_of(world.nodes["bob"])
    assert (chan.policies[side].fee_rate_ppm, chan.policies[side].base_fee_msat) == (321, 1500)
    edge = world.face_get(f"/v1/graph/edge/{chan.chan_id}").json()
    ours = edge["node1_policy" if side == 0 else "node2_policy"]
    assert (ours["fee_rate_milli_msat"], ours["fee_base_msat"]) == ("321", "1500")
    assert ours["time_lock_delta"] == 80  # what LNbits always sends


async def test_invoice_paid_by_a_simulated_sender_is_paid_in_lnbits(world: World) -> None:
    async with world.client() as client:
        before = (await client.wallet.get(bypass_cache=True)).balance_msat
        invoice = await client.payments.create_invoice(2_500, memo="from alice")
        with world.lock:
            outcome = world.payer.pay(
                world.nodes["alice"], world.nodes["bob"], 2_500_000, invoice.payment_hash
            )
        assert outcome.fee_msat == 0 and outcome.attempts  # one hop: alice pays bob directly

        async def credited() -> int | None:
            # The wallet is credited when LNbits hears the settlement on the held-open
            # /v1/invoices/subscribe stream; reading the balance asks nothing of the node.
            balance = (await client.wallet.get(bypass_cache=True)).balance_msat
            return balance if balance > before else None

        assert await _eventually(credited, "LNbits to credit the invoice") == before + 2_500_000
        assert (await client.payments.status(invoice.payment_hash)).paid
        node_invoices = await client.node.invoices(limit=10)
    settled = {i["payment_hash"]: i for i in node_invoices.data}
    assert settled[invoice.payment_hash]["pending"] is False  # read from /v1/invoices
    assert world.ours.lookup_invoice(invoice.payment_hash).amt_paid_msat == 2_500_000


async def test_lnbits_pays_a_simulated_node_over_a_route_with_fees(world: World) -> None:
    with world.lock:
        frank = world.net.nodes[world.nodes["frank"]]
        request = world.net.invoices.create(
            frank,
            InvoiceRequest(10_000_000, memo="frank's coffee"),
            world.net.now_ns,
            hashlib.sha256(b"frank's invoice").digest(),
        )
    async with world.client() as client:
        payment = await client.payments.pay(request.payment_request)
        node_payments = await client.node.payments(limit=10)
    listed = {p["payment_hash"]: p for p in node_payments.data}
    assert request.payment_hash in listed  # LNbits' node view reads /v1/payments
    sim_payment = world.ours.lookup_payment(request.payment_hash)
    assert sim_payment.status.value == "SUCCEEDED"
    assert len(sim_payment.htlcs[-1].route.channels) == 2  # bob → carol → frank
    assert sim_payment.fee_msat > 0
    assert abs(payment.fee_msat) == sim_payment.fee_msat
    assert world.net.invoices.by_hash(request.payment_hash).state.value == "SETTLED"


async def test_channel_closed_in_the_simulation_shows_as_closed(world: World) -> None:
    chan = world.chans["bob-erin"]
    with world.lock:
        world.ours.close_channel(chan.channel_point)
    world.mine(1)
    async with world.client() as client:
        channels = await client.node.channels(bypass_cache=True)
    listed = _by_point(channels, chan.channel_point)
    assert listed is not None and listed.state == "closed"


async def test_channel_opened_through_lnbits_is_pending_then_active(world: World) -> None:
    dave = world.nodes["dave"]
    async with world.client() as client:
        point = await client.node.open_channel(dave, 250_000, push_amount_sat=1_000)
        pending = _by_point(await client.node.channels(bypass_cache=True), str(point))
        assert pending is not None and pending.state == "pending"
        assert pending.peer_id == dave
        assert pending.balance.total_msat == 250_000_000
        world.mine(world.net.config.open_confirmations)
        active = _by_point(await client.node.channels(bypass_cache=True), str(point))
    assert active is not None and active.state == "active"
    assert active.balance.local_msat == 249_000_000
