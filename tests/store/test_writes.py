"""What the collector writes reads back equal, and re-writing the same facts adds nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lnpilot.base.domain import ChannelState, ClosedChannel, CloseType, Initiator, NodeInfo
from lnpilot.store import (
    CollectorState,
    Direction,
    Event,
    PeerEvent,
    PolicyRecord,
    PolicySource,
    Store,
)
from lnpilot.store.tables import channel_snapshots, forwards, nodes

from .factories import T0, chan_id, channel, failed, forward, new_node, peer, policy, pubkey

DAY = timedelta(days=1)


async def test_node_upsert_keeps_one_row_per_pubkey(store: Store) -> None:
    key = pubkey()
    async with store.transaction() as tx:
        first = await tx.upsert_node(NodeInfo(key, "old", 1, True), T0)
        again = await tx.upsert_node(NodeInfo(key, "new", 2, True, version="0.18"), T0 + DAY)
    async with store.read() as r:
        assert await r.node_id(key) == first == again
        assert await r.node_id(pubkey()) is None
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(nodes).where(nodes.c.id == first))).one()
    assert (row.alias, row.version, row.first_seen_at, row.last_seen_at) == (
        "new",
        "0.18",
        T0,
        T0 + DAY,
    )


async def test_channels_read_back_equal_with_their_policies(store: Store) -> None:
    node = await new_node(store)
    listed = [
        channel(chan_id(800_001), local_policy=policy(150, cltv_delta=80), remote_policy=policy(9)),
        channel(chan_id(800_002), state=ChannelState.INACTIVE, local_policy=policy(200)),
        dataclasses.replace(
            channel(chan_id(800_003)), scid=None, chan_id=None, state=ChannelState.PENDING_OPEN
        ),
    ]
    async with store.transaction() as tx:
        changes = await tx.record_channels(node, listed, T0)
    assert len(changes) == 3
    async with store.read() as r:
        assert await r.channels(node) == listed
    async with store.engine.connect() as conn:
        snapshots = (
            await conn.execute(select(func.count()).select_from(channel_snapshots))
        ).scalar()
    assert snapshots == 2, "a pending channel has no chan_id and no time series yet"


async def test_channel_state_is_updated_in_place(store: Store) -> None:
    node = await new_node(store)
    cid = chan_id(800_010)
    async with store.transaction() as tx:
        await tx.record_channels(node, [channel(cid)], T0)
        await tx.record_channels(
            node, [channel(cid, local_msat=1_000, state=ChannelState.INACTIVE)], T0 + DAY
        )
    async with store.read() as r:
        [current] = await r.channels(node)
    assert (current.local_balance_msat, current.state) == (1_000, ChannelState.INACTIVE)


async def test_policy_history_records_changes_only_with_their_source(store: Store) -> None:
    node = await new_node(store)
    cid = chan_id(800_020)
    ours, theirs = policy(100, inbound_fee_rate_ppm=-50), policy(5)
    async with store.transaction() as tx:
        await tx.record_channels(node, [channel(cid, local_policy=ours, remote_policy=theirs)], T0)
        unchanged = await tx.record_channels(
            node,
            [
                channel(
                    cid,
                    local_policy=dataclasses.replace(ours, last_update=T0),
                    remote_policy=theirs,
                )
            ],
            T0 + DAY,
        )
        by_lnpilot = await tx.record_policies(
            node,
            [PolicyRecord(cid, Direction.LOCAL, PolicySource.LNPILOT, T0 + 2 * DAY, policy(300))],
        )
        by_peer = await tx.record_channels(
            node, [channel(cid, local_policy=policy(300), remote_policy=policy(7))], T0 + 3 * DAY
        )
    assert unchanged == [], "a newer gossip timestamp alone is no change"
    assert [r.policy.inbound_fee_rate_ppm for r in by_lnpilot] == [-50], (
        "an inbound fee the observation does not know keeps its recorded value"
    )
    assert [(r.direction, r.source) for r in by_peer] == [(Direction.REMOTE, PolicySource.PEER)]
    async with store.read() as r:
        history = await r.policy_history(node, cid, T0, T0 + 4 * DAY)
        current = await r.current_policies(node)
    assert [(h.direction, h.source, h.policy.fee_rate_ppm) for h in history] == [
        (Direction.LOCAL, PolicySource.OUTSIDE, 100),
        (Direction.REMOTE, PolicySource.PEER, 5),
        (Direction.LOCAL, PolicySource.LNPILOT, 300),
        (Direction.REMOTE, PolicySource.PEER, 7),
    ]
    assert current[(cid, Direction.LOCAL)].policy.fee_rate_ppm == 300


def test_a_policy_record_names_a_source_that_fits_its_direction() -> None:
    with pytest.raises(ValueError, match="remote"):
        PolicyRecord(1, Direction.REMOTE, PolicySource.OUTSIDE, T0, policy())
    with pytest.raises(ValueError, match="local"):
        PolicyRecord(1, Direction.LOCAL, PolicySource.PEER, T0, policy())


async def test_closed_channels_keep_close_type_and_initiator(store: Store) -> None:
    node = await new_node(store)
    open_cid, old_cid = chan_id(800_030), chan_id(700_000)
    closing = ClosedChannel(
        scid="800030x1x0",
        chan_id=open_cid,
        channel_point=f"{open_cid:064x}:1",
        peer_pubkey=pubkey(30),
        capacity_sat=1_000_000,
        settled_balance_sat=590_000,
        close_type=CloseType.REMOTE_FORCE,
        open_initiator=Initiator.LOCAL,
        close_initiator=Initiator.REMOTE,
        closing_txid="ab" * 32,
        close_height=800_100,
    )
    historic = dataclasses.replace(
        closing, chan_id=old_cid, channel_point="cd" * 32 + ":0", close_type=CloseType.COOPERATIVE
    )
    async with store.transaction() as tx:
        await tx.record_channels(node, [channel(open_cid)], T0)
        newly = await tx.record_closed_channels(node, [closing, historic], T0 + DAY)
        again = await tx.record_closed_channels(node, [closing, historic], T0 + 2 * DAY)
    assert newly == [closing, historic]
    assert again == []
    async with store.read() as r:
        assert await r.channels(node) == []
        assert sorted(await r.closed_channels(node), key=lambda c: c.capacity_sat) == [
            closing,
            historic,
        ]


async def test_peer_events_mark_first_sighting_and_every_change(store: Store) -> None:
    node = await new_node(store)
    a, b = peer(1), peer(2)
    async with store.transaction() as tx:
        first = await tx.record_peers(node, [a, b], T0)
        steady = await tx.record_peers(node, [a, b], T0 + DAY)
        b_gone = await tx.record_peers(node, [a], T0 + 2 * DAY)
        b_back = await tx.record_peers(node, [a, b], T0 + 3 * DAY)
    assert first == [PeerEvent(a.pubkey, T0, True), PeerEvent(b.pubkey, T0, True)]
    assert steady == []
    assert b_gone == [PeerEvent(b.pubkey, T0 + 2 * DAY, False)], "absent from the listing"
    assert b_back == [PeerEvent(b.pubkey, T0 + 3 * DAY, True)]
    async with store.read() as r:
        assert await r.peers(node) == [a, b]
        assert await r.peer_events(node, T0, T0 + 4 * DAY, pubkey=b.pubkey) == [
            first[1],
            *b_gone,
            *b_back,
        ]


async def test_forwards_are_never_duplicated_by_a_reread(store: Store) -> None:
    node = await new_node(store)
    cin, cout = chan_id(800_040), chan_id(800_041)
    page = [forward(T0 + timedelta(seconds=i), cin, cout, htlc=i) for i in range(10)]
    no_htlc_ids = dataclasses.replace(page[0], incoming_htlc_id=None, outgoing_htlc_id=None)
    async with store.transaction() as tx:
        assert await tx.append_forwards(node, page[:6]) == 6
        assert await tx.append_forwards(node, page[3:]) == 4, "overlapping page"
        assert await tx.append_forwards(node, page) == 0
        assert await tx.append_forwards(node, [no_htlc_ids, no_htlc_ids]) == 1
        assert await tx.append_forwards(node, [no_htlc_ids]) == 0, "unknown HTLC ids still match"
    async with store.read() as r:
        stored = await r.forwards(node, T0, T0 + DAY)
        through_out = await r.forwards(node, T0, T0 + DAY, chan_id=cout)
        elsewhere = await r.forwards(node, T0, T0 + DAY, chan_id=chan_id(1))
    assert stored == [page[0], no_htlc_ids, *page[1:]], "by time, then as appended"
    assert len(through_out) == 11 and elsewhere == []


async def test_a_forward_must_be_timed_by_its_timestamp_ns(store: Store) -> None:
    """The store keeps LND's nanosecond stamp only; a datetime saying otherwise would be lost."""
    node = await new_node(store)
    skewed = dataclasses.replace(forward(T0, 1, 2), timestamp=T0 + timedelta(seconds=1))
    with pytest.raises(ValueError, match="timestamp_ns"):
        async with store.transaction() as tx:
            await tx.append_forwards(node, [skewed])


async def test_failed_forwards_are_never_duplicated(store: Store) -> None:
    node = await new_node(store)
    batch = [
        failed(T0, chan_id(1), chan_id(2)),
        failed(T0, None, chan_id(2)),
        failed(T0 + DAY, chan_id(1), None),
    ]
    async with store.transaction() as tx:
        assert await tx.append_failed_forwards(node, batch) == 3
        assert await tx.append_failed_forwards(node, batch) == 0
    async with store.read() as r:
        assert await r.failed_forwards(node, T0, T0 + 2 * DAY) == batch
        assert await r.failed_forwards(node, T0, T0 + 2 * DAY, chan_id=chan_id(1)) == [
            batch[0],
            batch[2],
        ]


async def test_events_keep_their_payload(store: Store) -> None:
    node = await new_node(store)
    cid = chan_id(800_050)
    written = [
        Event(
            "channel_closed", T0, chan_id=cid, payload={"close_type": "remote_force", "n": [1, 2]}
        ),
        Event("peer_disconnected", T0 + DAY, peer_pubkey=pubkey(5)),
    ]
    async with store.transaction() as tx:
        await tx.add_events(node, written)
    async with store.read() as r:
        read = await r.events(node, T0, T0 + 2 * DAY)
        closed = await r.events(node, T0, T0 + 2 * DAY, kinds=["channel_closed"], chan_id=cid)
    assert [dataclasses.replace(e, id=None) for e in read] == written
    assert all(e.id is not None for e in read)
    assert closed == read[:1]


async def test_collector_state_is_one_row_per_node(store: Store) -> None:
    node = await new_node(store)
    async with store.read() as r:
        assert await r.collector_state(node) is None
    for index in (10, 25):
        async with store.transaction() as tx:
            await tx.save_collector_state(
                node, CollectorState(index, T0 + timedelta(minutes=index))
            )
    async with store.read() as r:
        assert await r.collector_state(node) == CollectorState(25, T0 + timedelta(minutes=25))


async def test_a_failed_cycle_writes_nothing(store: Store) -> None:
    node = await new_node(store)
    cid = chan_id(800_060)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await tx.record_channels(node, [channel(cid, local_policy=policy())], T0)
            await tx.append_forwards(node, [forward(T0, cid, chan_id(2))])
            await tx.save_collector_state(node, CollectorState(1, T0))
            raise Boom
    async with store.read() as r:
        assert await r.channels(node) == []
        assert await r.forwards(node, T0, T0 + DAY) == []
        assert await r.collector_state(node) is None
        assert await r.current_policies(node) == {}
    async with store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(forwards))).scalar() == 0


async def test_naive_datetimes_are_refused(store: Store) -> None:
    node = await new_node(store)
    with pytest.raises(Exception, match="naive datetime"):
        async with store.transaction() as tx:
            await tx.record_peers(node, [peer(1)], T0.replace(tzinfo=None))
