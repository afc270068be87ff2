"""The gatherer: the node as it is (through LND on the simulated node) and the history the
store holds, turned into the planner's inputs, with what the history does not cover left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lnpilot.base.domain import FailedForward, Forward, Peer, PolicyUpdate, chan_id_from_scid
from lnpilot.fees.applier import Result, UpdateOutcome
from lnpilot.fees.gather import gather
from lnpilot.fees.journal import Mode, RunHeader, record
from lnpilot.fees.planner import Action, ChannelDecision
from lnpilot.fees.policy import parse_policy
from lnpilot.node import CompositeNode, LndRest
from lnpilot.store import CollectorState, Store, rebalances
from lnpilot.store.rebalances import RebalanceDecision, RebalanceRun

from .conftest import World

ALICE, CAROL, ERIN = (chan_id_from_scid(f"800000x{i}x0") for i in (1, 2, 3))
DAY = timedelta(days=1)
POLICY = parse_policy(
    """
    [[rule]]
    name = "watch"
    match.liquidity_failures = { window = "1d", min = 1 }
    match.peer_uptime = { window = "2d", min = 0.5 }
    strategy = "static"
    static.fee_rate_ppm = 1
    [[rule]]
    name = "month"
    match.peer_uptime = { window = "30d", min = 0.5 }
    strategy = "static"
    static.fee_rate_ppm = 1
    [[rule]]
    name = "default"
    strategy = "flow_adaptive"
    """
)


def forward(at: datetime, chan_in: int, chan_out: int, amt_sat: int) -> Forward:
    ns = int(at.timestamp()) * 1_000_000_000 + at.microsecond * 1000
    return Forward(at, ns, chan_in, chan_out, amt_sat * 1000 + 100, amt_sat * 1000, 100, 1, ns)


async def history(
    store: Store, world: World, lnd: LndRest, now: datetime, *, cycle: datetime
) -> None:
    """Ten days of what a collector would have written, and one earlier fee run."""
    info = await lnd.get_info()
    peers = [Peer(p) for p in (world.sim.resolve(n, "test") for n in ("alice", "carol", "erin"))]
    async with store.transaction() as tx:
        node_id = await tx.upsert_node(info, now - 10 * DAY)
        await tx.record_peers(node_id, peers, now - 10 * DAY)
        await tx.record_peers(node_id, peers[1:], now - DAY)  # alice went away for 12 hours
        await tx.record_peers(node_id, peers, now - DAY / 2)
        channels = await lnd.get_policies(await lnd.list_channels())
        await tx.record_channels(node_id, channels, now - 2 * DAY)
        await tx.append_forwards(
            node_id,
            [
                forward(now - 5 * DAY, CAROL, ALICE, 200_000),
                forward(now - DAY, CAROL, ALICE, 50_000),
                forward(now - DAY / 4, ERIN, CAROL, 10_000),
            ],
        )
        await tx.append_failed_forwards(
            node_id,
            [
                FailedForward(
                    now - DAY / 2, ERIN, CAROL, 90_001_000, 90_000_000, "INSUFFICIENT_BALANCE"
                ),
                FailedForward(now - DAY / 3, ERIN, CAROL, 1000, 1000, "FEE_INSUFFICIENT"),
                FailedForward(now - 3 * DAY, ERIN, CAROL, 5000, 5000, "INSUFFICIENT_BALANCE"),
            ],
        )
        await tx.save_collector_state(node_id, CollectorState(3, cycle))
    chan = channels[0]
    earlier = ChannelDecision(
        chan.chan_id, chan.scid, chan.peer_pubkey, None, Action.UPDATE, "x", state="idle",
        state_since=now - 3 * DAY, proposal=PolicyUpdate(fee_rate_ppm=90),
    )  # fmt: skip
    await record(
        store, info, RunHeader(now - DAY / 24, Mode.APPLY), [Result(earlier, UpdateOutcome.APPLIED)]
    )


async def test_inputs_carry_the_history_the_store_covers(
    world: World, lnd: LndRest, store: Store
) -> None:
    now = datetime.now(UTC)
    await history(store, world, lnd, now, cycle=now - timedelta(minutes=5))
    gathered = await gather(
        CompositeNode([lnd]), store, POLICY, now, onchain_fee_rate_sat_per_vbyte=7
    )
    inputs = gathered.inputs
    by_id = {c.channel.chan_id: c for c in inputs.channels}
    alice, carol = by_id[ALICE], by_id[CAROL]
    month, week, two_days, day = 30 * 86_400, 7 * 86_400, 2 * 86_400, 86_400
    # flows come from the node's whole forwarding history: every window is covered...
    assert sorted(alice.windows) == [day, two_days, week, month]
    # ...failed forwards only from when the collector started watching (10 days ago)
    assert carol.windows[month].liquidity_failures is None
    assert (alice.windows[week].flow.forwards_out, alice.windows[week].flow.volume_out_msat) == (
        2,
        250_000_000,
    )
    assert alice.windows[two_days].flow.forwards_out == 1
    assert carol.windows[day].flow.forwards_out == 1
    # one failure for lack of liquidity in the last day (a fee failure does not count)
    assert (carol.windows[day].liquidity_failures, carol.windows[day].liquidity_failed_msat) == (
        1,
        90_000_000,
    )
    assert carol.windows[week].liquidity_failures == 2
    assert alice.peer_uptime_permille == {day: 500, two_days: 750, week: 928}  # no 30d: unwatched
    assert alice.memory is not None and alice.memory.state == "idle"
    assert alice.last_change_at == now - DAY / 24  # lnpilot's own update, after the history's
    assert by_id[ERIN].last_change_at == now - 2 * DAY
    assert inputs.recent_updates == (now - DAY / 24,)
    assert inputs.onchain_fee_rate_sat_per_vbyte == 7
    assert alice.age_blocks == gathered.info.block_height - 800_000
    assert alice.channel.remote_policy is not None  # full policies through LND


async def test_a_stale_collector_gives_no_flows(world: World, lnd: LndRest, store: Store) -> None:
    now = datetime.now(UTC)
    await history(store, world, lnd, now, cycle=now - timedelta(hours=3))
    inputs = (await gather(CompositeNode([lnd]), store, POLICY, now)).inputs
    assert all(c.windows == {} for c in inputs.channels)


async def test_a_node_the_store_never_saw_has_no_history(lnd: LndRest, store: Store) -> None:
    gathered = await gather(CompositeNode([lnd]), store, POLICY, datetime.now(UTC))
    assert gathered.node_id is None
    assert all(c.windows == {} and c.memory is None for c in gathered.inputs.channels)


async def test_each_channel_carries_what_its_refills_cost_per_sat_moved(
    world: World, lnd: LndRest, store: Store
) -> None:
    now = datetime.now(UTC)
    await history(store, world, lnd, now, cycle=now - timedelta(minutes=5))
    node_id = await store_node_id(store, lnd)
    refills = ((100_000_000, 30_000, 2 * DAY), (50_000_000, 15_001, 9 * DAY), (1, 999, 31 * DAY))
    async with store.transaction() as tx:
        _, ids = await rebalances.record_run(
            tx,
            RebalanceRun(node_id, now - 31 * DAY, "apply", "run", 0),
            [RebalanceDecision("target", "rebalance", "x", "planned", ALICE) for _ in refills],
        )
        for decision, (moved, paid, ago) in zip(ids, refills, strict=True):
            await rebalances.finish_rebalance(
                tx, decision, outcome="succeeded", moved_msat=moved, fee_paid_msat=paid,
                failure=None, finished_at=now - ago, duration_ms=1,
            )  # fmt: skip
    pricing = parse_policy('[[rule]]\nname = "d"\nstrategy = "ignore"\nliquidity_margin_ppm = 0\n')
    inputs = (await gather(CompositeNode([lnd]), store, pricing, now)).inputs
    by_id = {c.channel.chan_id: c for c in inputs.channels}
    # 45,001 msat paid for 150,000,000 msat moved in the last 30 days: 300.0067 ppm, rounded up;
    # the refill 31 days ago is out of the window
    assert by_id[ALICE].rebalance_cost_ppm == 301
    assert by_id[CAROL].rebalance_cost_ppm is None  # nothing refilled: nothing paid
    # a policy without liquidity_margin_ppm is not given the cost: it decides as before
    unpriced = (await gather(CompositeNode([lnd]), store, POLICY, now)).inputs
    assert all(c.rebalance_cost_ppm is None for c in unpriced.channels)


async def store_node_id(store: Store, lnd: LndRest) -> int:
    async with store.read() as reader:
        node_id = await reader.node_id((await lnd.get_info()).pubkey)
    assert node_id is not None
    return node_id
