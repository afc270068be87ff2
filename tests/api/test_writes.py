"""Writes: admin only, every one audited (refusals too), and they act on the real node."""

from __future__ import annotations

from lnpilot.store import audit, fee_journal, rebalances

from .conftest import Api


async def our_fee_rate_ppm(api: Api, scid: str) -> int:
    """Our outbound fee rate on ``scid`` as the node shows it (through its LND face)."""
    node = api.sim.lnd
    for channel in await node.get_policies(await node.list_channels()):
        if channel.scid == scid:
            assert channel.local_policy is not None
            return channel.local_policy.fee_rate_ppm
    raise AssertionError(f"no channel {scid}")


async def audit_log(api: Api) -> list[audit.AuditEntry]:
    async with api.store.read() as reader:
        return await audit.entries(reader)


async def test_a_read_token_cannot_write_and_nothing_is_audited(api: Api) -> None:
    for path in ("/api/v1/fees/plan", "/api/v1/fees/apply", "/api/v1/incidents/1/ack"):
        refused = await api.http.post(path, headers=api.auth())
        assert refused.status_code == 403, path
        assert "needs admin" in refused.json()["detail"]
    assert await audit_log(api) == []
    assert (await api.http.get("/api/v1/audit", headers=api.auth())).status_code == 403


async def test_plan_apply_history_rollback_on_the_node(api: Api) -> None:
    admin = api.auth(admin=True)
    plan = await api.http.post("/api/v1/fees/plan", headers=admin)
    assert plan.status_code == 200
    assert plan.json()["run"]["mode"] == "dry-run"
    assert await our_fee_rate_ppm(api, "800000x1x0") == 100  # nothing sent

    applied = (await api.http.post("/api/v1/fees/apply", headers=admin)).json()
    run_id = applied["run"]["id"]
    assert {d["outcome"] for d in applied["decisions"]} == {"applied"}
    assert await our_fee_rate_ppm(api, "800000x1x0") == 321

    runs = (await api.http.get("/api/v1/fees/runs", headers=api.auth())).json()
    assert [r["mode"] for r in runs] == ["apply", "dry-run"]
    one = (await api.http.get(f"/api/v1/fees/runs/{run_id}", headers=api.auth())).json()
    assert len(one["decisions"]) == 6

    back = await api.http.post(f"/api/v1/fees/runs/{run_id}/rollback", headers=admin)
    assert back.status_code == 200, back.text
    assert await our_fee_rate_ppm(api, "800000x1x0") == 100
    dry = await api.http.post(
        f"/api/v1/fees/runs/{plan.json()['run']['id']}/rollback", headers=admin
    )
    assert dry.status_code == 409
    assert "dry run" in dry.json()["detail"]

    entries = await audit_log(api)
    assert [(e.action, e.outcome, e.actor) for e in reversed(entries)] == [
        ("fees.plan", "ok", "operator"),
        ("fees.apply", "ok", "operator"),
        ("fees.rollback", "ok", "operator"),
        ("fees.rollback", "refused", "operator"),
    ]
    assert entries[1].detail["run_id"] == back.json()["run"]["id"]
    assert "dry run" in (entries[0].error or "")
    listed = (await api.http.get("/api/v1/audit", headers=admin)).json()
    assert [e["action"] for e in listed][:2] == ["fees.rollback", "fees.rollback"]


async def test_silences_validated_created_and_ended(api: Api) -> None:
    admin = api.auth(admin=True)
    bad = await api.http.post(
        "/api/v1/alerts/silences",
        headers=admin,
        json={"matchers": ["scid~800000x1x0"], "duration_s": 3600, "comment": "maintenance"},
    )
    assert bad.status_code == 422
    assert "must look like name=value" in bad.json()["detail"]
    missing = await api.http.post(
        "/api/v1/alerts/silences", headers=admin, json={"matchers": [], "duration_s": 0}
    )
    assert missing.status_code == 422
    assert {p.split(":")[0] for p in missing.json()["problems"]} == {
        "body.matchers",
        "body.duration_s",
        "body.comment",
    }
    made = await api.http.post(
        "/api/v1/alerts/silences",
        headers=admin,
        json={"matchers": ["scid=800000x1x0"], "duration_s": 3600, "comment": "maintenance"},
    )
    assert made.status_code == 201
    silence = made.json()
    assert silence["created_by"] == "operator"
    active = await api.http.get(
        "/api/v1/alerts/silences", headers=api.auth(), params={"active": True}
    )
    assert [s["id"] for s in active.json()] == [silence["id"]]
    ended = await api.http.delete(f"/api/v1/alerts/silences/{silence['id']}", headers=admin)
    assert ended.status_code == 204
    again = await api.http.delete(f"/api/v1/alerts/silences/{silence['id']}", headers=admin)
    assert again.status_code == 404
    outcomes = [(e.action, e.outcome) for e in reversed(await audit_log(api))]
    assert outcomes == [
        ("alerts.silence", "refused"),
        ("alerts.silence", "ok"),
        ("alerts.unsilence", "ok"),
        ("alerts.unsilence", "refused"),
    ]


async def test_unknown_incident_is_404_and_resolve_needs_cause(api: Api) -> None:
    admin = api.auth(admin=True)
    assert (await api.http.post("/api/v1/incidents/7/ack", headers=admin)).status_code == 404
    empty = await api.http.post("/api/v1/incidents/7/resolve", headers=admin, json={})
    assert empty.status_code == 422


async def test_writes_without_a_body_refuse_one_and_do_nothing(api: Api) -> None:
    """A body a route does not take is a caller's mistake, not something to ignore: a body
    meant to limit a rebalance ({"amount_sat": -1}) used to run an unlimited one."""
    admin = api.auth(admin=True)
    for path in (
        "/api/v1/fees/plan",
        "/api/v1/fees/apply",
        "/api/v1/fees/runs/1/rollback",
        "/api/v1/rebalances/plan",
        "/api/v1/rebalances/run",
    ):
        for body in ({"amount_sat": -1}, [1], "all"):
            refused = await api.http.post(path, headers=admin, json=body)
            assert refused.status_code == 422, (path, body, refused.text)
            error = refused.json()
            assert error["detail"] == "invalid request"
            assert all(p.startswith("body") for p in error["problems"]), error
    refused = await api.http.request(
        "DELETE", "/api/v1/alerts/silences/1", headers=admin, json={"all": True}
    )
    assert refused.status_code == 422, refused.text
    async with api.store.read() as reader:
        node_id = await reader.node_id(api.sim.nodes["ours"])
        assert node_id is not None
        assert await fee_journal.runs(reader, node_id) == []
        assert await rebalances.runs(reader, node_id) == []
    assert await our_fee_rate_ppm(api, "800000x1x0") == 100
    # no body, or an empty object, is what they take
    assert (await api.http.post("/api/v1/fees/plan", headers=admin)).status_code == 200
    assert (await api.http.post("/api/v1/fees/plan", headers=admin, json={})).status_code == 200
