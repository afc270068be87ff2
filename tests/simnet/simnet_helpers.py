"""Small hand-built networks for the simnet unit tests (the fixture is in conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lnpilot.simnet.model import Node, Policy
from lnpilot.simnet.network import SimNetwork
from lnpilot.simnet.our_node import OurNode
from lnpilot.simnet.payments import Payer
from lnpilot.simnet.secp256k1 import pubkey_of
from shared_files import shared_path


def shared_graph(name: str) -> Path:
    """A snapshot from ../shared/data (skips without it, fails on CI)."""
    return shared_path("data", name)


def make_node(net: SimNetwork, privkey: int, alias: str) -> str:
    pubkey = pubkey_of(privkey).hex()
    net.add_node(Node(pubkey=pubkey, alias=alias, privkey=privkey, onchain_balance_sat=10_000_000))
    return pubkey


def policy(
    base_fee_msat: int = 0,
    fee_rate_ppm: int = 100,
    inbound_base_fee_msat: int = 0,
    inbound_fee_rate_ppm: int = 0,
    min_htlc_msat: int = 1000,
    disabled: bool = False,
) -> Policy:
    return Policy(
        base_fee_msat=base_fee_msat,
        fee_rate_ppm=fee_rate_ppm,
        inbound_base_fee_msat=inbound_base_fee_msat,
        inbound_fee_rate_ppm=inbound_fee_rate_ppm,
        min_htlc_msat=min_htlc_msat,
        disabled=disabled,
    )


@dataclass
class Line:
    """alice — bob (ours) — carol, 1M sat channels, balances split evenly."""

    net: SimNetwork
    payer: Payer
    ours: OurNode
    alice: str
    bob: str
    carol: str


def build_line() -> Line:
    net = SimNetwork(seed=1)
    alice = make_node(net, 1, "alice")
    bob = make_node(net, 2, "bob")
    carol = make_node(net, 3, "carol")
    net.add_channel(alice, bob, 1_000_000, 500_000_000, policy(), policy(), scid="700000x1x0")
    net.add_channel(bob, carol, 1_000_000, 500_000_000, policy(), policy(), scid="700000x2x0")
    payer = Payer(net)
    return Line(net, payer, OurNode(net, payer, bob), alice, bob, carol)
