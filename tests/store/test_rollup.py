"""Rollups equal aggregates computed straight from the raw rows, however the rows arrive and
however often the rollup runs; retention never deletes a raw row before it is rolled up."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from lnpilot.base.domain import ChannelState, FailedForward, Forward
from lnpilot.store import Retention, Store
from lnpilot.store.levels import LEVELS, Resolution, bucket_floor
from lnpilot.store.tables import channel_flows, channel_snapshots, channel_stats, forwards

from .factories import T0, chan_id, channel, failed, forward, new_node, policy

CHANNELS = [chan_id(800_000 + i) for i in range(3)]
SPAN_S = 3 * 86_400  # crosses days, hours and five-minute buckets


@dataclass(frozen=True)
class Sample:
    """One channel's snapshot: what the reference aggregates straight from."""

    cid: int
    at: datetime
    local_msat: int
    remote_msat: int
    active: bool
    pending: int
    fee_rate_ppm: int | None


samples = st.builds(
    Sample,
    cid=st.sampled_from(CHANNELS),
    at=st.integers(0, SPAN_S).map(lambda s: T0 + timedelta(seconds=s)),
    local_msat=st.integers(0, 10**12),
    remote_msat=st.integers(0, 10**12),
    active=st.booleans(),
    pending=st.integers(0, 30),
    fee_rate_ppm=st.none() | st.integers(0, 5000),
)
forwards_st = st.builds(
    lambda s, us, cin, cout, amt, fee, htlc: forward(
        T0 + timedelta(seconds=s, microseconds=us), cin, cout, amt, fee, htlc
    ),
    st.integers(0, SPAN_S),
    st.integers(0, 999_999),
    st.sampled_from(CHANNELS),
    st.sampled_from(CHANNELS),
    st.integers(1, 10**10),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
)
failed_st = st.builds(
    lambda s, cin, cout: failed(T0 + timedelta(seconds=s), cin, cout),
    st.integers(0, SPAN_S),
    st.none() | st.sampled_from(CHANNELS),
    st.none() | st.sampled_from(CHANNELS),
)


def expected_stats(
    rows: list[Sample], resolution: Resolution
) -> dict[tuple[int, datetime], dict[str, Any]]:
    groups: defaultdict[tuple[int, datetime], list[Sample]] = defaultdict(list)
    for s in rows:
        groups[(s.cid, bucket_floor(s.at, resolution))].append(s)
    out = {}
    for key, group in groups.items():
        last = max(group, key=lambda s: s.at)
        local = [s.local_msat for s in group]
        remote = [s.remote_msat for s in group]
        out[key] = {
            "samples": len(group),
            "active_samples": sum(s.active for s in group),
            "local_balance_min_msat": min(local),
            "local_balance_max_msat": max(local),
            "local_balance_sum_msat": sum(local),
            "local_balance_last_msat": last.local_msat,
            "remote_balance_min_msat": min(remote),
            "remote_balance_max_msat": max(remote),
            "remote_balance_sum_msat": sum(remote),
            "remote_balance_last_msat": last.remote_msat,
            "capacity_sat": _capacity(last),
            "pending_htlcs_max": max(s.pending for s in group),
            "local_fee_rate_ppm": last.fee_rate_ppm,
            "last_at": last.at,
        }
    return out


def expected_flows(
    fwds: list[Forward], fails: list[FailedForward], resolution: Resolution
) -> dict[tuple[int, datetime], dict[str, int]]:
    out: defaultdict[tuple[int, datetime], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(
            (
                "forwards_in",
                "forwards_out",
                "volume_in_msat",
                "volume_out_msat",
                "fee_in_msat",
                "fee_out_msat",
                "failed_in",
                "failed_out",
            ),
            0,
        )
    )
    for f in fwds:
        into = out[(f.chan_id_in, bucket_floor(f.timestamp, resolution))]
        into["forwards_in"] += 1
        into["volume_in_msat"] += f.amt_in_msat
        into["fee_in_msat"] += f.fee_msat
        out_ = out[(f.chan_id_out, bucket_floor(f.timestamp, resolution))]
        out_["forwards_out"] += 1
        out_["volume_out_msat"] += f.amt_out_msat
        out_["fee_out_msat"] += f.fee_msat
    for ff in fails:
        if ff.chan_id_in is not None:
            out[(ff.chan_id_in, bucket_floor(ff.timestamp, resolution))]["failed_in"] += 1
        if ff.chan_id_out is not None:
            out[(ff.chan_id_out, bucket_floor(ff.timestamp, resolution))]["failed_out"] += 1
    return dict(out)


def _capacity(s: Sample) -> int:
    return (s.local_msat + s.remote_msat) // 1000 + 1


async def write_samples(store: Store, node: int, batch: list[Sample]) -> None:
    """Snapshots arrive as listings: every channel sampled at one instant, in one call."""
    by_time: defaultdict[datetime, list[Sample]] = defaultdict(list)
    for s in batch:
        by_time[s.at].append(s)
    async with store.transaction() as tx:
        for at, listing in by_time.items():
            await tx.record_channels(
                node,
                [
                    dataclasses.replace(
                        channel(
                            s.cid,
                            local_msat=s.local_msat,
                            capacity_sat=_capacity(s),
                            state=ChannelState.ACTIVE if s.active else ChannelState.INACTIVE,
                            local_policy=None if s.fee_rate_ppm is None else policy(s.fee_rate_ppm),
                        ),
                        remote_balance_msat=s.remote_msat,
                        num_pending_htlcs=s.pending,
                    )
                    for s in listing
                ],
                at,
            )


async def dump(
    store: Store, node: int, table: Any, columns: list[str]
) -> dict[tuple[int, datetime], dict[str, Any]]:
    async with store.engine.connect() as conn:
        result = await conn.execute(select(table).where(table.c.node_id == node))
        return {
            (row["chan_id"], row["bucket_start"]): {c: row[c] for c in columns}
            for row in result.mappings()
        }


STAT_COLUMNS = list(
    expected_stats([Sample(1, T0, 1, 1, True, 0, None)], Resolution.DAY).popitem()[1]
)
FLOW_COLUMNS = list(expected_flows([forward(T0, 1, 2)], [], Resolution.DAY).popitem()[1])


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.tuples(
            st.lists(samples, max_size=12, unique_by=lambda s: (s.cid, s.at)),
            st.lists(forwards_st, max_size=8),
            st.lists(failed_st, max_size=4),
            st.none() | st.integers(1, 7),  # roll up after the batch, in chunks of so many rows
        ),
        min_size=1,
        max_size=4,
    )
)
async def test_rollups_equal_aggregates_of_the_raw_rows(
    store: Store, batches: list[tuple[list[Sample], list[Forward], list[FailedForward], int | None]]
) -> None:
    node = await new_node(store)
    seen: dict[tuple[int, datetime], Sample] = {}
    fwds: dict[tuple[int, int, int, int | None], Forward] = {}
    fails: dict[tuple[datetime, int | None, int | None], FailedForward] = {}
    for batch_samples, batch_forwards, batch_failed, chunk in batches:
        fresh = [s for s in batch_samples if (s.cid, s.at) not in seen]  # the store keeps the first
        seen.update({(s.cid, s.at): s for s in fresh})
        for f in batch_forwards:
            fwds.setdefault((f.timestamp_ns, f.chan_id_in, f.chan_id_out, f.incoming_htlc_id), f)
        for ff in batch_failed:
            fails.setdefault((ff.timestamp, ff.chan_id_in, ff.chan_id_out), ff)
        await write_samples(store, node, fresh)
        async with store.transaction() as tx:
            await tx.append_forwards(node, batch_forwards)
            await tx.append_failed_forwards(node, batch_failed)
        if chunk is not None:
            await store.rollup([node], chunk_rows=chunk)
    await store.rollup([node])

    for resolution in LEVELS:
        assert await dump(store, node, channel_stats[resolution], STAT_COLUMNS) == expected_stats(
            list(seen.values()), resolution
        )
        assert await dump(store, node, channel_flows[resolution], FLOW_COLUMNS) == expected_flows(
            list(fwds.values()), list(fails.values()), resolution
        )

    before = {r: await dump(store, node, channel_stats[r], STAT_COLUMNS) for r in LEVELS}
    report = await store.rollup([node])
    assert set(report.rows.values()) == {0}
    assert {r: await dump(store, node, channel_stats[r], STAT_COLUMNS) for r in LEVELS} == before


async def _count(store: Store, table: Any) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_retention_deletes_only_rolled_up_raw_rows(store: Store) -> None:
    node = await new_node(store)
    cid = chan_id(800_100)
    now = T0 + timedelta(days=60)
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    for at in (old, recent):
        async with store.transaction() as tx:
            await tx.record_channels(node, [channel(cid)], at)
            await tx.append_forwards(node, [forward(at, cid, chan_id(1))])
            await tx.append_failed_forwards(node, [failed(at, cid, None)])

    nothing = await store.apply_retention(now)
    assert nothing[channel_snapshots.name] == 0, "not rolled up yet: kept however old"
    assert await _count(store, channel_snapshots) == 2

    await store.rollup([node])
    deleted = await store.apply_retention(now)
    assert (deleted["channel_snapshots"], deleted["failed_forwards"]) == (1, 1)
    assert "forwards" not in deleted, "forwards are the node's accounts: kept by default"
    assert deleted["channel_stats_5m"] == 1, "older than the 35 days of five-minute buckets"
    assert deleted["channel_stats_1h"] == 0
    assert "channel_stats_1d" not in deleted, "daily buckets are kept forever"
    assert await _count(store, forwards) == 2
    async with store.read() as r:
        totals = await r.channel_totals(node, old, now, now=now)
    assert totals[cid].forwards_in == 2 and totals[cid].failed_in == 2, "rollups still hold both"


async def test_a_late_row_merges_into_its_old_bucket(store: Store) -> None:
    node = await new_node(store)
    cid = chan_id(800_200)
    async with store.transaction() as tx:
        await tx.append_forwards(node, [forward(T0, cid, chan_id(1), fee_msat=5)])
    await store.rollup([node])
    async with store.transaction() as tx:  # the collector catching up after an outage
        await tx.append_forwards(
            node, [forward(T0 + timedelta(seconds=1), cid, chan_id(1), fee_msat=7)]
        )
    await store.rollup([node])
    rows = await dump(store, node, channel_flows[Resolution.DAY], ["forwards_in", "fee_in_msat"])
    assert rows[(cid, bucket_floor(T0, Resolution.DAY))] == {"forwards_in": 2, "fee_in_msat": 12}


def test_retention_refuses_a_coarser_level_kept_shorter() -> None:
    with pytest.raises(ValueError, match="hour"):
        Retention(five_minutes=timedelta(days=35), hour=timedelta(days=10))
    with pytest.raises(ValueError, match="forever"):
        Retention(hour=None, day=timedelta(days=800))
    with pytest.raises(ValueError, match="positive"):
        Retention(raw=timedelta(0))
