"""The open routes on the real app over the simulated node's LND face: suggestions for a
reader, plans and runs for an admin only (audited), the same engine as ``lnpilot open``;
a dry run by default, then connect → open → (confirmation) → policy → agreement."""

from __future__ import annotations

from lnpilot.store import audit

from .conftest import Api
from .test_open_suggest import _grow


async def test_suggest_plan_and_run_through_the_api(api: Api) -> None:
    hub = _grow(api.sim)["hub"]
    read, admin = api.auth(), api.auth(admin=True)

    found = await api.http.get(
        "/api/v1/open/suggestions", params={"budget_sat": 2_000_000, "count": 2}, headers=read
    )
    assert found.status_code == 200, found.text
    first = found.json()["candidates"][0]
    assert first["pubkey"] == hub and set(first["parts"]) >= {"capacity", "reach", "fees"}
    poor = await api.http.get("/api/v1/open/suggestions?budget_sat=1000", headers=read)
    assert poor.status_code == 422
    assert "below the smallest channel worth its on-chain cost" in poor.json()["detail"]

    body = {"peer_pubkey": hub, "capacity_sat": 500_000, "fee_rate_ppm": 150, "name": "hub"}
    assert (await api.http.post("/api/v1/open/plans", json=body)).status_code == 401
    refused = await api.http.post("/api/v1/open/plans", json=body, headers=read)
    assert refused.status_code == 403
    small = await api.http.post(
        "/api/v1/open/plans", json={**body, "capacity_sat": 10_000}, headers=admin
    )
    assert small.status_code == 422 and "below LND's minimum" in small.json()["detail"]
    stranger = {**body, "peer_pubkey": "02" + "cd" * 32}
    unknown = await api.http.post("/api/v1/open/plans", json=stranger, headers=admin)
    assert unknown.status_code == 422 and "give its address" in unknown.json()["detail"]

    made = await api.http.post("/api/v1/open/plans", json=body, headers=admin)
    assert made.status_code == 200, made.text
    plan_id = made.json()["plan"]["id"]
    run = f"/api/v1/open/plans/{plan_id}/run"
    assert (await api.http.post(run, json={"apply": True}, headers=read)).status_code == 403
    dry = await api.http.post(run, json={}, headers=admin)
    assert [s["outcome"] for s in dry.json()["journal"]] == ["planned", "dry_run"]
    assert not [c for c in await api.sim.lnd.list_pending_channels() if c.peer_pubkey == hub]

    sent = await api.http.post(run, json={"apply": True}, headers=admin)
    assert sent.status_code == 200, sent.text
    assert sent.json()["plan"]["next_step"] == "policy"
    for _ in range(10):
        api.sim.mine()
    done = await api.http.post(run, json={"apply": True}, headers=admin)
    out = done.json()
    assert out["plan"]["state"] == "done", out
    assert [s["step"] for s in out["journal"]][-2:] == ["policy", "agreement"]
    assert {s["approved_by"] for s in out["journal"]} == {"operator"}
    [channel] = [c for c in await api.sim.lnd.list_channels() if c.peer_pubkey == hub]
    [read_back] = await api.sim.lnd.get_policies([channel])
    assert read_back.local_policy is not None and read_back.local_policy.fee_rate_ppm == 150

    listed = await api.http.get("/api/v1/open/plans", headers=read)
    assert [p["id"] for p in listed.json()] == [plan_id]
    assert (await api.http.get(f"/api/v1/open/plans/{plan_id}", headers=read)).status_code == 200
    assert (await api.http.get("/api/v1/close/plans/1", headers=read)).status_code == 404
    async with api.store.read() as reader:
        actions = [e.action for e in await audit.entries(reader)]
    assert actions.count("open.run") == 2 and "open.dry_run" in actions and "open.plan" in actions
