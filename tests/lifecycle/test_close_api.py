"""The close routes: advice for a reader, plans and runs for an admin only (audited), the
token's name as who approved each step; and advice that says close, with its reasons."""

from __future__ import annotations

from datetime import timedelta

from lnpilot.lifecycle.advise import advise, close_advice
from lnpilot.store import Store

from .conftest import Api, Sim

DAVE = "800000x3x0"


async def test_plan_and_run_through_the_api(api: Api) -> None:
    read, admin = api.auth(), api.auth(admin=True)
    advice = await api.http.get("/api/v1/close/advice", headers=read)
    assert advice.status_code == 200 and len(advice.json()) == 6

    body = {"scid": DAVE, "sat_per_vbyte": 3}
    refused = await api.http.post("/api/v1/close/plans", json=body, headers=read)
    assert refused.status_code == 403
    bad = await api.http.post("/api/v1/close/plans", json={"scid": DAVE, "sat_per_vbyte": 0})
    assert bad.status_code == 401
    bad = await api.http.post(
        "/api/v1/close/plans", json={"scid": DAVE, "sat_per_vbyte": 0}, headers=admin
    )
    assert bad.status_code == 422
    unknown = await api.http.post("/api/v1/close/plans", json={"scid": "1x1x1"}, headers=admin)
    assert unknown.status_code == 422 and "no open channel 1x1x1" in unknown.json()["detail"]

    made = await api.http.post("/api/v1/close/plans", json=body, headers=admin)
    assert made.status_code == 200, made.text
    plan_id = made.json()["plan"]["id"]
    dry = await api.http.post(f"/api/v1/close/plans/{plan_id}/run", json={}, headers=admin)
    assert [s["outcome"] for s in dry.json()["journal"]] == ["planned", "dry_run"]
    done = await api.http.post(
        f"/api/v1/close/plans/{plan_id}/run", json={"apply": True}, headers=admin
    )
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["plan"]["state"] == "done" and out["plan"]["result"]["onchain_fee_sat"] == 510
    assert {s["approved_by"] for s in out["journal"]} == {"operator"}
    listed = await api.http.get("/api/v1/close/plans", headers=read)
    assert [p["id"] for p in listed.json()] == [plan_id]
    assert (await api.http.get("/api/v1/close/plans/999", headers=read)).status_code == 404


async def test_advice_says_close_for_an_idle_channel_and_keep_for_a_busy_one(
    sim: Sim, store: Store
) -> None:
    collector = sim.collector(store)
    node_id = (await collector.cycle()).node_id
    sim.advance(timedelta(days=31))
    sim.traffic(2)  # alice ↔ carol through us: those two channels work, the others idle
    await collector.cycle()
    async with store.read() as reader:
        blind = {a.scid: a for a in await advise(reader, node_id, sim.now)}
    found = {a.scid: a for a in await close_advice(sim.lnd, store, node_id, sim.now)}
    dave, carol = found[DAVE], found["800000x2x0"]
    assert dave.verdict == "close" and dave.reasons[0] == "idle: no forward in 30 days"
    assert dave.reasons[1].startswith(
        "does not reach where our flows go: no forward out in 30 days, and the peer has a "
        "channel to none of the 2 peer(s)"
    )
    assert (dave.reaches_flows, carol.reaches_flows) == (False, True)
    assert blind[DAVE].reaches_flows is None and len(blind[DAVE].reasons) == 2  # no graph
    assert dave.reasons[-1].startswith(
        "closing costs about 1,700 sat on chain (10 sat/vB, the node's estimate for 6 blocks)"
    )
    assert blind[DAVE].reasons[-1].startswith("closing costs about 1,700 sat on chain (10 sat/vB)")
    given = await close_advice(sim.lnd, store, node_id, sim.now, fee_rate_sat_per_vbyte=3)
    assert given[0].close_cost_sat == 510 and "(3 sat/vB, given)" in given[0].reasons[-1]
    assert carol.verdict == "keep" and carol.reasons[0].startswith("routes: 1 forwards out")
    assert next(iter(found)) != "800000x2x0"  # the channels to close come first
