"""Rebalancing through the API: plan and run journaled and audited, history and its 4xx."""

from __future__ import annotations

from lnpilot.store import audit

from .conftest import Api


async def test_plan_run_runs_and_history(api: Api) -> None:
    admin = api.auth(admin=True)
    assert (await api.http.post("/api/v1/rebalances/plan", headers=api.auth())).status_code == 403
    planned = await api.http.post("/api/v1/rebalances/plan", headers=admin)
    assert planned.status_code == 200, planned.text
    body = planned.json()
    assert {d["scid"] for d in body["decisions"]} >= {f"800000x{n}x0" for n in range(1, 7)}
    assert all(d["reason"] for d in body["decisions"])  # every channel is told why

    ran = await api.http.post("/api/v1/rebalances/run", headers=admin)
    assert ran.status_code == 200, ran.text
    runs = (await api.http.get("/api/v1/rebalances/runs", headers=api.auth())).json()
    assert [r["mode"] for r in runs] == ["apply", "dry-run"]
    assert runs[0]["trigger"] == "api:operator"
    one = await api.http.get(f"/api/v1/rebalances/runs/{body['run_id']}", headers=api.auth())
    assert one.json()["decisions"] == body["decisions"]
    assert (
        await api.http.get("/api/v1/rebalances/runs/999", headers=api.auth())
    ).status_code == 404

    found = await api.http.get(
        "/api/v1/rebalances/history", headers=api.auth(), params={"channel": "800000x1x0"}
    )
    assert found.status_code == 200
    assert found.json()["cost_msat"] >= 0
    bad = await api.http.get(
        "/api/v1/rebalances/history", headers=api.auth(), params={"channel": "nope"}
    )
    assert bad.status_code == 422

    async with api.store.read() as reader:
        entries = await audit.entries(reader)
    assert [(e.action, e.outcome) for e in reversed(entries)] == [
        ("rebalances.plan", "ok"),
        ("rebalances.run", "ok"),
    ]
