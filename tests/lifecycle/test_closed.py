"""Closed channels stay readable: listed, shown one by one with their close, settlement and
final accounting, from the engine and from the CLI, after the node has forgotten them."""

from __future__ import annotations

from datetime import timedelta

from lnpilot.lifecycle.closed import closed_history, closed_views
from lnpilot.store import Store
from lnpilot.store.levels import EPOCH

from .conftest import Api, Cli, Sim

CAROL = "800000x2x0"


async def _close_carol(sim: Sim, store: Store) -> int:
    """Traffic through carol's channel, then its cooperative close, collected; the node id."""
    collector = sim.collector(store)
    sim.traffic(4)
    await collector.cycle()
    with sim.lock:
        sim.ours.close_channel(sim.chans[CAROL].channel_point)
    sim.advance(timedelta(minutes=1))
    await collector.cycle()
    sim.mine()
    sim.advance(timedelta(minutes=1))
    return (await collector.cycle()).node_id


async def test_a_closed_channel_keeps_its_close_and_final_accounting(
    sim: Sim, store: Store
) -> None:
    node_id = await _close_carol(sim, store)
    chan_id = sim.chans[CAROL].chan_id
    async with store.read() as reader:
        views = await closed_views(reader, node_id, sim.now)
        history = await closed_history(reader, node_id, chan_id, sim.now)
        forwards = await reader.forwards(node_id, EPOCH, sim.now + timedelta(days=1))
    assert [v.record.channel.scid for v in views] == [CAROL]
    assert history is not None
    closed, accounting = history.view.record.channel, history.view.accounting
    assert (closed.close_type.value, closed.close_initiator.value) == ("cooperative", "local")
    assert closed.closing_txid and closed.settled_balance_sat is not None
    out = [f for f in forwards if f.chan_id_out == chan_id]
    assert accounting.forwards_out == len(out) == 2
    assert accounting.fees_earned_msat == sum(f.fee_msat for f in out) > 0
    assert accounting.rebalance_spent_msat == 0 and accounting.onchain_fee_sat is None
    assert accounting.net_msat == accounting.fees_earned_msat
    assert accounting.observed_lifetime_s == 120  # first cycle to the one that saw it closed
    kinds = [e.kind for e in history.events]
    assert kinds == ["channel_closing", "channel_closed"]
    assert len(history.policy_history) == 2  # both directions, first seen


async def test_the_cli_lists_and_shows_a_closed_channel(cli: Cli) -> None:
    sim = cli.sim
    sim.traffic(2, every=timedelta(seconds=1))
    assert (await cli("collect", "--once")).code == 0
    with sim.lock:
        sim.ours.close_channel(sim.chans[CAROL].channel_point)
    sim.mine()
    assert (await cli("collect", "--once")).code == 0

    listed = (await cli("channels", "--closed", "--json")).json()
    assert [v["record"]["channel"]["scid"] for v in listed] == [CAROL]
    assert listed[0]["record"]["channel"]["close_type"] == "cooperative"
    table = await cli("channels", "--closed")
    assert table.code == 0 and CAROL in table.stdout and "cooperative" in table.stdout
    assert CAROL not in (await cli("channels")).stdout

    one = (await cli("channel", CAROL, "--json")).json()
    assert one["view"]["record"]["closed_seen_at"]
    assert one["view"]["accounting"]["fees_earned_msat"] > 0
    assert [e["kind"] for e in one["events"]] == ["channel_closed"]
    shown = await cli("channel", CAROL)
    assert shown.code == 0, shown.stderr
    for words in ("cooperative (closed by local)", "fees earned", "on-chain close", "unknown"):
        assert words in shown.stdout


async def test_the_api_lists_and_shows_a_closed_channel(api: Api) -> None:
    sim = api.sim
    collector = sim.collector(api.store)
    with sim.lock:
        sim.ours.close_channel(sim.chans[CAROL].channel_point)
    sim.mine()
    sim.advance(timedelta(minutes=1))
    await collector.cycle()

    listed = await api.http.get("/api/v1/channels/closed", headers=api.auth())
    assert listed.status_code == 200
    [view] = listed.json()
    assert view["record"]["channel"]["scid"] == CAROL
    assert view["accounting"]["fees_earned_msat"] > 0  # the fixture's traffic went through it
    one = await api.http.get(f"/api/v1/channels/closed/{CAROL}", headers=api.auth())
    assert one.status_code == 200
    assert one.json()["view"]["record"]["channel"]["close_type"] == "cooperative"
    moved = await api.http.get(f"/api/v1/channels/{CAROL}", headers=api.auth())
    assert moved.status_code == 404
    assert f"/api/v1/channels/closed/{CAROL}" in moved.json()["detail"]
    unknown = await api.http.get("/api/v1/channels/closed/800000x1x0", headers=api.auth())
    assert unknown.status_code == 404 and "no closed channel" in unknown.json()["detail"]
    bad = await api.http.get("/api/v1/channels/closed/nope", headers=api.auth())
    assert bad.status_code == 422
    assert (await api.http.get("/api/v1/channels/closed")).status_code == 401


async def test_the_dashboard_lists_closed_channels_under_the_open_ones(api: Api) -> None:
    sim = api.sim
    with sim.lock:
        sim.ours.close_channel(sim.chans[CAROL].channel_point)
    sim.mine()
    sim.advance(timedelta(minutes=1))
    await sim.collector(api.store).cycle()

    signed_in = await api.http.get(f"/dashboard/channels?token={api.read_token}")
    assert signed_in.status_code == 303
    page = await api.http.get("/dashboard/channels")
    assert page.status_code == 200
    closed = page.text.split("<h2>Closed</h2>")[1]
    assert CAROL in closed and "cooperative (local)" in closed
    assert "800000x1x0" not in closed
