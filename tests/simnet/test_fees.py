"""Forwarding fees as LND computes them: outbound plus signed inbound, never below zero."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from simnet_helpers import Line

from lnpilot.simnet.fees import forwarding_fee_msat, inbound_fee_msat, outbound_fee_msat
from lnpilot.simnet.model import Policy
from lnpilot.simnet.routing import build_route


def test_outbound_fee_is_base_plus_integer_ppm() -> None:
    p = Policy(base_fee_msat=1000, fee_rate_ppm=250)
    # 1_234_567 msat * 250 / 1e6 = 308.64 -> 308 (integer division, as LND)
    assert outbound_fee_msat(p, 1_234_567) == 1308


def test_inbound_discount_reduces_the_total() -> None:
    out = Policy(base_fee_msat=0, fee_rate_ppm=1000)
    incoming = Policy(inbound_base_fee_msat=-100, inbound_fee_rate_ppm=-200)
    # outbound 1000 msat on 1M; inbound on 1_001_000: -100 + trunc(-200.2) = -300
    assert forwarding_fee_msat(out, incoming, 1_000_000) == 700


def test_negative_inbound_truncates_toward_zero_like_go() -> None:
    incoming = Policy(inbound_base_fee_msat=0, inbound_fee_rate_ppm=-1)
    # -1 ppm of 1_999_999 msat is -1.999999: Go truncates to -1, Python's // would give -2
    assert inbound_fee_msat(incoming, 1_999_999) == -1


def test_total_is_clamped_at_zero() -> None:
    out = Policy(base_fee_msat=0, fee_rate_ppm=10)
    incoming = Policy(inbound_base_fee_msat=-5000, inbound_fee_rate_ppm=-1000)
    assert forwarding_fee_msat(out, incoming, 1_000_000) == 0


def test_positive_inbound_fee_adds() -> None:
    out = Policy(base_fee_msat=1000, fee_rate_ppm=0)
    incoming = Policy(inbound_base_fee_msat=500, inbound_fee_rate_ppm=0)
    assert forwarding_fee_msat(out, incoming, 10_000) == 1500


@given(
    amt=st.integers(1, 10**11),
    base=st.integers(0, 10**5),
    ppm=st.integers(0, 10**5),
    in_base=st.integers(-(10**5), 10**5),
    in_ppm=st.integers(-(10**5), 10**5),
)
def test_fee_is_never_negative(amt: int, base: int, ppm: int, in_base: int, in_ppm: int) -> None:
    out = Policy(base_fee_msat=base, fee_rate_ppm=ppm)
    incoming = Policy(inbound_base_fee_msat=in_base, inbound_fee_rate_ppm=in_ppm)
    assert forwarding_fee_msat(out, incoming, amt) >= 0


def test_route_fees_use_the_forwarders_inbound_policy(line: Line) -> None:
    # bob offers a discount on HTLCs arriving from alice's channel
    ab, bc = line.ours._our_channels()
    line.net.update_policy(ab.chan_id, line.bob, inbound_fee_rate_ppm=-50)
    path = [(ab, ab.side_of(line.alice)), (bc, bc.side_of(line.bob))]
    route = build_route(line.alice, path, 1_000_000, 800_000)
    # bob: outbound 100 ppm of 1M = 100; inbound -50 ppm of 1_000_100 = -50 -> 50
    assert route.total_fees_msat == 50
    assert [h.fee_msat for h in route.hops] == [50, 0]
    assert route.total_time_lock == 800_000 + 18 + 80
