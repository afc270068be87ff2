"""The composite sends each operation where it can be done, and says what to configure if not.

Routing is shown two ways: by `backend_for` with real backend objects, and by effect on the
simulated node, where a fee update through LNbits leaves LND's CLTV delta at 80 (LNbits
always sends 80) and one through LND keeps it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from lnpilot.base.domain import (
    Capability,
    Channel,
    ChannelState,
    PolicyUpdate,
    Route,
)
from lnpilot.lnbits import LNbitsClient
from lnpilot.node import CapabilityMissing, CompositeNode, LNbitsNode, LndRest
from lnpilot.node.backend import OPERATION_NEEDS, how_to_get

from .conftest import MACAROON, World

C = Capability
CHAN = Channel(
    scid="800000x9x0",
    chan_id=879609302811738112,
    channel_point=f"{'ab' * 32}:0",
    peer_pubkey="02" + "cd" * 32,
    capacity_sat=1_000_000,
    local_balance_msat=0,
    remote_balance_msat=0,
    state=ChannelState.ACTIVE,
)

# Arguments for each operation LNbits' node API cannot do.
CALLS: dict[str, tuple[Any, ...]] = {
    "forwarding_history": (),
    "failed_forwards": (datetime(2024, 1, 1, tzinfo=UTC),),
    "pending_htlcs": (),
    "policies_toward": ("02" + "ee" * 32,),
    "set_channel_enabled": (CHAN, False),
    "query_routes": ("02" + "ee" * 32, 1000),
    "build_route": (1000, ["02" + "ee" * 32]),
    "send_to_route": ("00" * 32, Route(1000, 0, 100, ())),
    "export_backup": (),
    "verify_backup": (b"backup",),
    "create_own_invoice": (1000,),
}


@pytest.fixture
async def offline_lnbits() -> AsyncIterator[LNbitsNode]:
    """An LNbitsNode that is never reached: refusals happen before any request."""
    async with LNbitsClient("http://127.0.0.1:9", access_token="unused") as client:
        yield LNbitsNode(client)


@pytest.fixture
async def offline_lnd() -> AsyncIterator[LndRest]:
    async with LndRest("http://127.0.0.1:9", MACAROON) as backend:
        yield backend


@pytest.mark.parametrize("operation", sorted(CALLS))
async def test_lnbits_only_says_lnd_rest_would_add_it(
    offline_lnbits: LNbitsNode, operation: str
) -> None:
    node = CompositeNode([offline_lnbits])
    with pytest.raises(CapabilityMissing) as caught:
        await getattr(node, operation)(*CALLS[operation])
    error = caught.value
    assert error.capabilities == {OPERATION_NEEDS[operation]}
    assert error.operation == operation
    assert "no configured backend (lnbits)" in str(error)
    assert "set [lnd] rest_url and macaroon" in str(error)


async def test_the_backend_alone_refuses_the_same_way(offline_lnbits: LNbitsNode) -> None:
    with pytest.raises(CapabilityMissing, match=r"forwarding history \(read_forwards\)"):
        await offline_lnbits.forwarding_history()


async def test_inbound_fee_message_names_the_capability_and_the_configuration(
    offline_lnbits: LNbitsNode,
) -> None:
    update = PolicyUpdate(fee_rate_ppm=100, inbound_fee_rate_ppm=-20, max_htlc_msat=10**8)
    with pytest.raises(CapabilityMissing) as caught:
        await CompositeNode([offline_lnbits]).update_policy(CHAN, update)
    assert caught.value.capabilities == {C.SET_INBOUND_FEE, C.SET_HTLC_LIMITS}
    assert str(caught.value) == (
        "update_policy needs HTLC limits (min/max HTLC) (set_htlc_limits), inbound fees "
        "(set_inbound_fee), which no configured backend (lnbits) offers; it needs a direct "
        "LND REST connection: set [lnd] rest_url and macaroon (or macaroon_file)"
    )
    with pytest.raises(CapabilityMissing, match="set_cltv_delta"):
        await offline_lnbits.update_policy(CHAN, PolicyUpdate(cltv_delta=40))
    with pytest.raises(ValueError, match="changes nothing"):
        await CompositeNode([offline_lnbits]).update_policy(CHAN, PolicyUpdate())


async def test_preference_order_decides_among_capable_backends(
    offline_lnbits: LNbitsNode, offline_lnd: LndRest
) -> None:
    lnbits_first = CompositeNode([offline_lnbits, offline_lnd])
    assert lnbits_first.capabilities == offline_lnd.capabilities
    assert lnbits_first.backend_for(C.READ_CHANNELS, operation="x") is offline_lnbits
    assert lnbits_first.backend_for(C.SET_OUTBOUND_FEE, operation="x") is offline_lnbits
    assert lnbits_first.backend_for(C.READ_FORWARDS, operation="x") is offline_lnd
    both = (C.SET_OUTBOUND_FEE, C.SET_INBOUND_FEE)
    assert lnbits_first.backend_for(*both, operation="x") is offline_lnd
    lnd_first = CompositeNode([offline_lnd, offline_lnbits])
    assert {lnd_first.backend_for(c, operation="x") for c in offline_lnbits.capabilities} == {
        offline_lnd
    }


async def test_nothing_configured_or_unsupported(offline_lnd: LndRest) -> None:
    with pytest.raises(ValueError, match="at least one"):
        CompositeNode([])
    assert (
        CompositeNode([offline_lnd]).backend_for(C.CIRCULAR_REBALANCE, operation="rebalance")
        is offline_lnd
    )
    assert "LND REST" in how_to_get(C.CIRCULAR_REBALANCE)
    assert "LNbits" not in how_to_get(C.CIRCULAR_REBALANCE)
    assert "LNbits node API" in how_to_get(C.READ_CHANNELS)
    assert "LND REST" in how_to_get(C.READ_CHANNELS)


# --- on the simulated node -----------------------------------------------------------------


def _cltv(world: World) -> int:
    chan = world.chan("bob", "carol")
    return chan.policies[chan.side_of(world.nodes["bob"])].cltv_delta


@pytest.mark.lnbits
async def test_policy_updates_go_where_they_can_be_done(
    world: World, lnbits: LNbitsNode, lnd: LndRest
) -> None:
    node = CompositeNode([lnbits, lnd])
    chan = next(c for c in await node.list_channels() if c.scid == "800000x2x0")
    await lnd.update_policy(chan, PolicyUpdate(cltv_delta=144))

    await node.update_policy(chan, PolicyUpdate(fee_rate_ppm=150, inbound_fee_rate_ppm=-15))
    assert _cltv(world) == 144  # through LND, which resends the CLTV delta it read

    await node.update_policy(chan, PolicyUpdate(fee_rate_ppm=160))
    assert _cltv(world) == 80  # through LNbits, first in preference and able to

    (read,) = await node.get_policies([chan])  # full policies, from LND
    assert read.local_policy is not None and read.remote_policy is not None
    assert (read.local_policy.fee_rate_ppm, read.local_policy.inbound_fee_rate_ppm) == (160, -15)


@pytest.mark.lnbits
async def test_lnbits_alone_reads_our_fees_only(world: World, lnbits: LNbitsNode) -> None:
    node = CompositeNode([lnbits])
    chan = next(c for c in await node.list_channels() if c.scid == "800000x2x0")
    (read,) = await node.get_policies([chan])
    sim = world.chan("bob", "carol")
    ours = sim.policies[sim.side_of(world.nodes["bob"])]
    assert read.local_policy is not None and read.remote_policy is None
    assert (read.local_policy.base_fee_msat, read.local_policy.fee_rate_ppm) == (
        ours.base_fee_msat,
        ours.fee_rate_ppm,
    )
    assert read.local_policy.inbound_fee_rate_ppm is None  # unknown, not zero
