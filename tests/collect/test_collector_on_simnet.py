"""The collector against the simulated node's LND REST face: what it records, and the events
it derives from what changed between cycles."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from lnpilot.base.domain import Capability, ChannelState, PolicyUpdate
from lnpilot.store import Event, EventKind, Resolution, Store

from .conftest import EPOCH, Sim

FAR = timedelta(days=3650)


def _kinds(events: tuple[Event, ...]) -> list[tuple[str, object]]:
    return sorted((e.kind, e.payload.get("scid")) for e in events)


async def test_first_cycle_records_state_snapshots_and_forwards_without_events(
    sim: Sim, store: Store
) -> None:
    sim.traffic(4)
    report = await sim.collector(store).cycle()

    assert report.first and report.events == ()
    assert (report.channels, report.pending, report.peers) == (6, 0, 6)
    assert report.forwards_new == 4 and report.forward_index == 4 and report.caught_up
    assert report.missing == frozenset()
    async with store.read() as reader:
        channels = await reader.channels(report.node_id)
        policies = await reader.current_policies(report.node_id)
        state = await reader.collector_state(report.node_id)
        forwards = await reader.forwards(report.node_id, EPOCH, sim.now + FAR)
        series = await reader.channel_series(
            report.node_id,
            sim.chans["800000x2x0"].chan_id,
            sim.now - timedelta(hours=1),
            sim.now + timedelta(hours=1),
            resolution=Resolution.FIVE_MINUTES,
        )
    assert {c.scid for c in channels} == set(sim.chans)
    assert all(c.state is ChannelState.ACTIVE for c in channels)
    assert len(policies) == 12  # both directions of six channels
    assert state is not None and (state.last_forward_index, state.last_cycle_at) == (4, sim.now)
    assert [f.timestamp_ns for f in forwards] == [f.timestamp_ns for f in sim.ours.forwards]
    [point] = series.points  # the cycle's snapshot, rolled up
    assert point.balance is not None and point.balance.samples == 1
    local_sat = sim.chans["800000x2x0"].balance_msat[0] // 1000  # LND lists whole sat
    assert point.balance.local_balance_last_msat == local_sat * 1000
    assert point.flow.forwards_out + point.flow.forwards_in == 4


async def test_forwards_are_appended_once_and_read_on_from_the_stored_index(
    sim: Sim, store: Store
) -> None:
    collector = sim.collector(store)
    sim.traffic(5)
    assert (await collector.cycle()).forwards_new == 5
    sim.advance(timedelta(minutes=1))
    again = await collector.cycle()
    assert (again.forwards_new, again.forward_index) == (0, 5)
    sim.traffic(3)
    later = await collector.cycle()
    assert (later.forwards_new, later.forward_index) == (3, 8)
    async with store.read() as reader:
        stored = await reader.forwards(later.node_id, EPOCH, sim.now + FAR)
    assert [(f.timestamp_ns, f.chan_id_in, f.chan_id_out, f.fee_msat) for f in stored] == [
        (f.timestamp_ns, f.chan_id_in, f.chan_id_out, f.fee_msat) for f in sim.ours.forwards
    ]


async def test_a_long_history_is_caught_up_over_several_cycles(sim: Sim, store: Store) -> None:
    sim.traffic(7)
    reports = []
    await sim.collector(store, max_forwards_per_cycle=3).run_once(reports.append)
    assert [r.forwards_new for r in reports] == [3, 3, 1]
    assert [r.caught_up for r in reports] == [False, False, True]
    assert reports[-1].forward_index == 7


async def test_closes_of_each_kind_become_closing_then_closed_events(
    sim: Sim, store: Store
) -> None:
    collector = sim.collector(store)
    await collector.cycle()
    dave, erin, frank = (sim.chans[f"800000x{n}x0"] for n in (3, 4, 5))
    with sim.lock:
        sim.ours.close_channel(dave.channel_point)
        sim.ours.close_channel(erin.channel_point, force=True)
        sim.net.close_channel(frank.chan_id, sim.nodes["frank"], force=True)
    sim.advance(timedelta(minutes=1))
    closing = await collector.cycle()
    assert _kinds(closing.events) == [
        (EventKind.CHANNEL_CLOSING, "800000x3x0"),
        (EventKind.CHANNEL_CLOSING, "800000x4x0"),
        (EventKind.CHANNEL_CLOSING, "800000x5x0"),
    ]
    assert closing.pending == 3

    sim.mine()
    sim.advance(timedelta(minutes=1))
    closed = await collector.cycle()
    by_scid = {e.payload["scid"]: e for e in closed.events}
    assert {e.kind for e in closed.events} == {EventKind.CHANNEL_CLOSED}
    assert {
        scid: (e.payload["close_type"], e.payload["close_initiator"]) for scid, e in by_scid.items()
    } == {
        "800000x3x0": ("cooperative", "local"),
        "800000x4x0": ("local_force", "local"),
        "800000x5x0": ("remote_force", "remote"),
    }
    assert by_scid["800000x5x0"].chan_id == frank.chan_id
    assert by_scid["800000x5x0"].peer_pubkey == sim.nodes["frank"]

    # Force-closed channels stay among LND's pending ones until their time lock ends: that
    # must neither bring them back as closing nor close them a second time.
    sim.mine()
    sim.advance(timedelta(minutes=1))
    assert (await collector.cycle()).events == ()
    async with store.read() as reader:
        open_now = {c.scid for c in await reader.channels(closed.node_id)}
        closed_now = {
            c.scid: c.close_type.value for c in await reader.closed_channels(closed.node_id)
        }
    assert open_now == {"800000x1x0", "800000x2x0", "800000x6x0"}
    assert closed_now == {
        "800000x3x0": "cooperative",
        "800000x4x0": "local_force",
        "800000x5x0": "remote_force",
    }


async def test_a_peer_offline_makes_its_channel_inactive_then_active_again(
    sim: Sim, store: Store
) -> None:
    collector = sim.collector(store)
    await collector.cycle()
    gina = sim.nodes["gina"]
    with sim.lock:
        sim.net.set_online(gina, False)
    sim.advance(timedelta(minutes=1))
    down = await collector.cycle()
    assert sorted((e.kind, e.peer_pubkey) for e in down.events) == [
        (EventKind.CHANNEL_INACTIVE, gina),
        (EventKind.PEER_DISCONNECTED, gina),
    ]
    [disconnected] = [e for e in down.events if e.kind == EventKind.PEER_DISCONNECTED]
    assert disconnected.payload["channels"] == ["800000x6x0"]

    with sim.lock:
        sim.net.set_online(gina, True)
    sim.advance(timedelta(minutes=1))
    up = await collector.cycle()
    assert sorted(e.kind for e in up.events) == [
        EventKind.CHANNEL_ACTIVE,
        EventKind.PEER_RECONNECTED,
    ]
    async with store.read() as reader:
        changes = await reader.peer_events(up.node_id, EPOCH, sim.now + FAR, pubkey=gina)
    assert [c.connected for c in changes] == [True, False, True]


async def test_policy_changes_by_the_peer_and_outside_lnpilot_are_told_apart(
    sim: Sim, store: Store
) -> None:
    collector = sim.collector(store)
    await collector.cycle()
    carol_chan = sim.chans["800000x2x0"]
    with sim.lock:
        sim.net.update_policy(carol_chan.chan_id, sim.nodes["carol"], fee_rate_ppm=555)
    [ours] = [c for c in await sim.lnd.list_channels() if c.scid == "800000x1x0"]
    await sim.lnd.update_policy(ours, PolicyUpdate(fee_rate_ppm=250, inbound_fee_rate_ppm=-20))
    sim.advance(timedelta(minutes=1))
    report = await collector.cycle()

    by_kind = {e.kind: e for e in report.events}
    assert set(by_kind) == {EventKind.PEER_POLICY_CHANGED, EventKind.OUR_POLICY_CHANGED}
    peer = by_kind[EventKind.PEER_POLICY_CHANGED]
    assert (peer.payload["scid"], peer.payload["source"]) == ("800000x2x0", "peer")
    assert peer.payload["changes"] == {"fee_rate_ppm": [100, 555]}
    assert peer.peer_pubkey == sim.nodes["carol"]
    outside = by_kind[EventKind.OUR_POLICY_CHANGED]
    assert (outside.payload["scid"], outside.payload["source"]) == ("800000x1x0", "outside")
    assert outside.payload["changes"] == {
        "fee_rate_ppm": [100, 250],
        "inbound_fee_rate_ppm": [0, -20],
    }

    sim.advance(timedelta(minutes=1))
    assert (await collector.cycle()).events == ()  # nothing changed since


async def test_a_channel_opened_by_us_is_an_event_once_confirmed(sim: Sim, store: Store) -> None:
    collector = sim.collector(store)
    await collector.cycle()
    with sim.lock:
        new = sim.ours.open_channel(sim.nodes["carol"], 400_000)
    sim.advance(timedelta(minutes=1))
    pending = await collector.cycle()
    assert (pending.pending, pending.events) == (1, ())
    sim.mine(sim.net.config.open_confirmations)
    sim.advance(timedelta(minutes=1))
    opened = await collector.cycle()
    [event] = opened.events
    assert (event.kind, event.chan_id, event.peer_pubkey) == (
        EventKind.CHANNEL_OPENED,
        new.chan_id,
        sim.nodes["carol"],
    )
    assert event.payload == {
        "scid": new.scid,
        "channel_point": new.channel_point,
        "capacity_sat": 400_000,
        "initiator": "local",
        "private": False,
        "active": True,
    }


async def test_failed_forwards_from_the_htlc_stream_are_recorded(sim: Sim, store: Store) -> None:
    collector = sim.collector(store)
    await collector.cycle()
    await sim.lnd.start()
    # The stream is live only: wait until it is subscribed (the backend offers no event).
    while sim.lnd.htlc_events_since is None:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    sim.pay("alice", "carol", 450_000)  # drains our side toward carol to about 50k sat
    with sim.lock:  # gina's 300k sat cannot leave toward carol: we fail it
        outcome = sim.payer.pay(sim.nodes["gina"], sim.nodes["carol"], 300_000_000)
    assert outcome.attempts and outcome.attempts[0][1] is not None
    while not await sim.lnd.failed_forwards(EPOCH):  # noqa: ASYNC110 - delivered in its time
        await asyncio.sleep(0.01)
    sim.advance(timedelta(minutes=1))
    report = await collector.cycle()
    assert report.failed_forwards_new >= 1
    assert Capability.READ_FAILED_FORWARDS not in report.missing
    async with store.read() as reader:
        failed = await reader.failed_forwards(report.node_id, EPOCH, sim.now + FAR)
    assert failed and all(f.chan_id_out == sim.chans["800000x2x0"].chan_id for f in failed)
    assert (await collector.cycle()).failed_forwards_new == 0  # asked again, not stored twice
