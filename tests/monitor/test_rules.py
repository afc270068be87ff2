"""Each shipped rule against a store holding just what it judges: it fires past its
threshold, stays quiet short of it, and per-channel overrides apply."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

from lnpilot.base.domain import (
    Channel,
    ChannelState,
    FailedForward,
    Forward,
    NodeInfo,
    Peer,
    scid_from_chan_id,
)
from lnpilot.monitor.checks import CHECKS, Context, Finding
from lnpilot.monitor.checks.income import robust_z
from lnpilot.monitor.config import MonitorConfig
from lnpilot.store import CollectorState, Store
from lnpilot.store.alerts import Probe, monitor_book
from lnpilot.store.levels import epoch_ns

from .conftest import T0

NOW = T0 + timedelta(days=20)
PEER = "03" + "42" * 32
CHAN_ID = 800_000 << 40 | 1 << 16


def channel(local_sat: int = 500_000, state: ChannelState = ChannelState.ACTIVE) -> Channel:
    return Channel(
        scid=scid_from_chan_id(CHAN_ID),
        chan_id=CHAN_ID,
        channel_point="ef" * 32 + ":0",
        peer_pubkey=PEER,
        capacity_sat=1_000_000,
        local_balance_msat=local_sat * 1000,
        remote_balance_msat=(1_000_000 - local_sat) * 1000,
        state=state,
        peer_alias="bob",
    )


async def node(store: Store, *channels: Channel) -> int:
    async with store.transaction() as tx:
        node_id = await tx.upsert_node(NodeInfo("02" + "01" * 32, "ours", 800_000), NOW)
        await tx.record_channels(node_id, list(channels), NOW)
        await tx.save_collector_state(node_id, CollectorState(0, NOW))
    return node_id


async def judge(store: Store, node_id: int, rule: str, **settings: object) -> list[Finding]:
    config = MonitorConfig.model_validate({"rules": {rule: settings}} if settings else {})
    spec = config.rules[rule]
    async with store.read() as reader, monitor_book(store) as book:
        return await CHECKS[spec.kind](Context(reader, book, node_id, NOW), spec)


def forward(at_offset: timedelta, amt_sat: int, fee_msat: int = 1000) -> Forward:
    at = NOW - at_offset
    return Forward(
        at, epoch_ns(at), 1, CHAN_ID, amt_sat * 1000 + fee_msat, amt_sat * 1000, fee_msat
    )


async def test_utilisation_fires_above_its_share_of_capacity(store: Store) -> None:
    node_id = await node(store, channel())
    async with store.transaction() as tx:
        await tx.append_forwards(node_id, [forward(timedelta(hours=h), 100_000) for h in range(8)])
    assert await judge(store, node_id, "channel_utilisation_high") == []
    [found] = await judge(store, node_id, "channel_utilisation_high", threshold=0.7)
    assert found.value is not None and math.isclose(found.value, 0.8, rel_tol=1e-3)
    overridden = await judge(
        store,
        node_id,
        "channel_utilisation_high",
        threshold=0.7,
        overrides=[{"scid": "800000x1x0", "threshold": 0.95}],
    )
    assert overridden == [], "the channel's override wins"


async def test_ratio_band_says_which_side_is_short(store: Store) -> None:
    node_id = await node(store, channel(local_sat=50_000))
    [found] = await judge(store, node_id, "liquidity_out_of_band")
    assert found.details["short_of"] == "outbound" and found.labels["scid"] == "800000x1x0"
    assert await judge(store, node_id, "liquidity_out_of_band", low=0.01) == []


async def test_inactive_channels_and_offline_peers(store: Store) -> None:
    node_id = await node(store, channel(state=ChannelState.INACTIVE))
    async with store.transaction() as tx:
        await tx.record_peers(node_id, [Peer(PEER, "bob", connected=False)], NOW)
    [inactive] = await judge(store, node_id, "channel_inactive")
    [offline] = await judge(store, node_id, "peer_offline")
    assert inactive.labels["scope"] == "channel" and offline.labels == {
        "scope": "peer",
        "peer": PEER,
        "peer_alias": "bob",
    }


async def test_flapping_counts_disconnects_in_the_window(store: Store) -> None:
    node_id = await node(store, channel())
    for minute in range(0, 50, 10):
        async with store.transaction() as tx:
            at = NOW - timedelta(minutes=minute)
            await tx.record_peers(node_id, [Peer(PEER, connected=minute % 20 == 0)], at)
    assert await judge(store, node_id, "peer_flapping") == []
    [found] = await judge(store, node_id, "peer_flapping", max_disconnects=1)
    assert found.value == 2


async def test_failed_forwards_for_lack_of_liquidity_above_a_rate(store: Store) -> None:
    node_id = await node(store, channel())
    failures = [
        FailedForward(NOW - timedelta(minutes=m), 1, CHAN_ID, 2000, 1000, reason)
        for m in range(12)
        for reason in ("INSUFFICIENT_BALANCE", "FEE_INSUFFICIENT")
    ]
    async with store.transaction() as tx:
        await tx.append_failed_forwards(node_id, failures)
    [found] = await judge(store, node_id, "failed_forwards_no_liquidity")
    assert found.value == 12, "only the liquidity failures count"
    assert await judge(store, node_id, "failed_forwards_no_liquidity", max_per_hour=12) == []


async def test_fee_income_far_below_its_usual_fires(store: Store) -> None:
    node_id = await node(store, channel())
    usual = [
        forward(timedelta(days=d, hours=2), 1000, fee_msat=50_000 + d * 1000) for d in range(1, 15)
    ]
    async with store.transaction() as tx:
        await tx.append_forwards(node_id, [*usual, forward(timedelta(hours=1), 1000, fee_msat=900)])
    await store.rollup([node_id])
    [found] = await judge(store, node_id, "fee_income_anomaly")
    assert found.value is not None and found.value < -3.5
    assert found.details["income_msat"] == 900


def test_robust_z_ignores_outliers_in_the_history() -> None:
    history = [100.0, 110, 90, 105, 95, 100, 10_000]
    assert abs(robust_z(100, history)) < 0.5
    assert robust_z(0, history) < -3.5
    assert robust_z(5, [5, 5, 5]) == 0 and robust_z(0, [5, 5, 5]) == -math.inf


async def test_node_rules_judge_the_probes(store: Store) -> None:
    second = replace(
        channel(), chan_id=CHAN_ID + 1, scid="800000x1x1", channel_point="ef" * 32 + ":1"
    )
    node_id = await node(store, channel(), second)
    htlcs = (
        {"chan_id": CHAN_ID, "incoming": True, "amount_msat": 5000, "expiration_height": 800_020},
    )
    probes = [
        Probe(
            NOW - timedelta(minutes=m),
            "lnd-rest",
            ok=True,
            latency_ms=4000.0,
            block_height=800_000,
            synced_to_chain=False,
            onchain_confirmed_sat=15_000,
            pending_htlcs=htlcs,
        )
        for m in (10, 5)
    ] + [Probe(NOW, "lnbits", ok=False, error="ConnectError: refused")]
    async with monitor_book(store, write=True) as book:
        await book.record_probes(node_id, probes)
    [unreachable] = await judge(store, node_id, "node_unreachable")
    assert unreachable.labels == {"scope": "backend", "backend": "lnbits"}
    assert "refused" in unreachable.summary
    [slow] = await judge(store, node_id, "node_slow")
    assert slow.labels["backend"] == "lnd-rest" and slow.value == 4000
    [unsynced] = await judge(store, node_id, "node_not_synced")
    assert unsynced.labels["backend"] == "lnd-rest"
    [reserve] = await judge(store, node_id, "onchain_below_reserve")
    assert reserve.details["needed_sat"] == 20_000, "10k per channel"
    [expiring] = await judge(store, node_id, "htlc_near_expiry")
    assert expiring.value == 20 and expiring.labels["scid"] == "800000x1x0"
    assert await judge(store, node_id, "htlc_near_expiry", blocks_left=20) == []


async def test_a_stale_collector_reads_as_unreachable(store: Store) -> None:
    node_id = await node(store, channel())
    async with store.transaction() as tx:
        await tx.save_collector_state(node_id, CollectorState(0, NOW - timedelta(hours=1)))
    [stale] = await judge(store, node_id, "node_unreachable")
    assert stale.labels["backend"] == "collector"


async def test_an_active_insecure_lnbits_extension_alerts(store: Store) -> None:
    node_id = await node(store, channel())
    advisory = {
        "extension": "boltz",
        "installed_version": "1.1.0",
        "recorded_version": "1.1.0",
        "verdict": "affected",
        "problem": "Boltz does not check the wallet in a request body against the key.",
        "what_to_do": "Deactivate Boltz on an LNbits with several users.",
    }
    newer = advisory | {"extension": "lndhub", "verdict": "unverified"}
    inactive = advisory | {"extension": "usermanager"}
    probe = Probe(
        NOW,
        "lnbits",
        ok=True,
        extension_advisories=(
            advisory | {"active": True},
            newer | {"active": True},
            inactive | {"active": False},
        ),
    )
    async with monitor_book(store, write=True) as book:
        await book.record_probes(node_id, [probe])
    [found] = await judge(store, node_id, "lnbits_extension_insecure")
    assert found.labels == {"scope": "lnbits", "extension": "boltz"}
    assert "What to do: Deactivate Boltz" in found.summary
    wider = await judge(store, node_id, "lnbits_extension_insecure", include_unverified=True)
    assert [f.labels["extension"] for f in wider] == ["boltz", "lndhub"]
