"""The read routes over a node collected from the simulated network: what they show is what
the node did, authentication comes first, and bad input gets a 4xx that says what to fix."""

from __future__ import annotations

from datetime import timedelta

from .conftest import Api

ROUTES = [
    "/api/v1/node",
    "/api/v1/channels",
    "/api/v1/channels/800000x1x0",
    "/api/v1/channels/800000x1x0/series",
    "/api/v1/forwards",
    "/api/v1/fees/runs",
    "/api/v1/alerts",
    "/api/v1/alerts/silences",
    "/api/v1/incidents",
    "/metrics",
]


async def test_every_read_route_needs_a_token(api: Api) -> None:
    for path in ROUTES:
        missing = await api.http.get(path)
        assert missing.status_code == 401, path
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = await api.http.get(path, headers={"Authorization": "Bearer lnp_nope"})
        assert wrong.status_code == 401, path
        assert (await api.http.get(path, headers=api.auth())).status_code == 200, path


async def test_node_sums_what_was_routed(api: Api) -> None:
    body = (await api.http.get("/api/v1/node", headers=api.auth())).json()
    assert body["pubkey"] == api.sim.nodes["ours"]
    assert body["reachable"] is True
    assert body["channels_by_state"] == {"active": 6}
    assert body["capacity_sat"] == 6_000_000
    day = body["flows"]["1d"]
    assert day["forwards"] == 20  # alice <-> carol through us, each once
    assert day["fees_earned_msat"] > 0


async def test_channel_list_and_detail(api: Api) -> None:
    rows = (await api.http.get("/api/v1/channels", headers=api.auth())).json()
    by_scid = {r["channel"]["scid"]: r for r in rows}
    assert set(by_scid) == {f"800000x{n}x0" for n in range(1, 7)}
    alice, carol = by_scid["800000x1x0"], by_scid["800000x2x0"]
    # alice -> carol and back, 10 times each: both channels carried all 20 forwards
    assert alice["flows"]["1d"]["forwards_in"] + alice["flows"]["1d"]["forwards_out"] == 20
    assert carol["flows"]["7d"] == {
        **carol["flows"]["7d"],
        "forwards_in": alice["flows"]["7d"]["forwards_out"],
    }
    assert 0 <= alice["local_ratio"] <= 1
    detail = (await api.http.get("/api/v1/channels/800000x2x0", headers=api.auth())).json()
    assert detail["metrics"]["channel"]["peer_pubkey"] == api.sim.nodes["carol"]
    assert detail["policy_history"], "the collector recorded both directions' policies"


async def test_series_range_and_resolution(api: Api) -> None:
    path = "/api/v1/channels/800000x1x0/series"
    auto = (await api.http.get(path, headers=api.auth())).json()
    assert auto["resolution"] == "1h"  # 7 days in at most 1000 buckets
    flows = sum(p["flow"]["forwards_in"] + p["flow"]["forwards_out"] for p in auto["points"])
    assert flows == 20
    end = (api.sim.now + timedelta(hours=1)).isoformat()
    start = (api.sim.now - timedelta(days=2)).isoformat()
    daily = await api.http.get(
        path, headers=api.auth(), params={"start": start, "end": end, "resolution": "1d"}
    )
    assert daily.status_code == 200
    assert daily.json()["resolution"] == "1d"
    assert sum(p["flow"]["forwards_out"] for p in daily.json()["points"]) == sum(
        p["flow"]["forwards_out"] for p in auto["points"]
    )


async def test_bad_input_says_what_to_fix(api: Api) -> None:
    h = api.auth()
    path = "/api/v1/channels/800000x1x0/series"
    reversed_range = await api.http.get(
        path, headers=h, params={"start": "2025-03-02T00:00:00Z", "end": "2025-03-01T00:00:00Z"}
    )
    assert reversed_range.status_code == 422
    assert reversed_range.json()["detail"] == "start must be before end"
    naive = await api.http.get(path, headers=h, params={"start": "2025-03-01T00:00:00"})
    assert naive.status_code == 422
    assert naive.json()["problems"][0].startswith("query.start:")
    too_fine = await api.http.get(
        path,
        headers=h,
        params={"start": "2024-03-01T00:00:00Z", "end": "2025-03-01T00:00:00Z", "resolution": "5m"},
    )
    assert too_fine.status_code == 422
    assert "coarser resolution" in too_fine.json()["detail"]
    bad_res = await api.http.get(path, headers=h, params={"resolution": "2h"})
    assert bad_res.status_code == 422
    assert (await api.http.get("/api/v1/channels/banana", headers=h)).status_code == 422
    assert (await api.http.get("/api/v1/channels/900000x1x0", headers=h)).status_code == 404
    unknown = await api.http.get("/api/v1/channels/900000x1x0/series", headers=h)
    assert unknown.status_code == 404
    assert (await api.http.get("/api/v1/incidents/999", headers=h)).status_code == 404


async def test_forwards_through_one_channel(api: Api) -> None:
    everything = await api.http.get("/api/v1/forwards", headers=api.auth())
    assert len(everything.json()) == 20
    dave = await api.http.get(
        "/api/v1/forwards", headers=api.auth(), params={"channel": "800000x3x0"}
    )
    assert dave.json() == []
    two = await api.http.get("/api/v1/forwards", headers=api.auth(), params={"limit": 2})
    assert [f["timestamp_ns"] for f in two.json()] == [
        f["timestamp_ns"] for f in everything.json()[-2:]
    ]


async def test_openapi_is_served_and_names_the_bearer_scheme(api: Api) -> None:
    spec = (await api.http.get("/openapi.json")).json()
    assert "/api/v1/channels/{scid}/series" in spec["paths"]
    assert "/api/v1/fees/runs/{run_id}/rollback" in spec["paths"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_every_json_answer_has_a_schema_in_openapi(api: Api) -> None:
    """A client generated from the spec gets a type for every answer, free-form JSON
    fields (an alert's labels, a decision's detail) included."""
    spec = (await api.http.get("/openapi.json")).json()
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, answer in operation["responses"].items():
                if not code.startswith("2"):
                    continue
                json = answer.get("content", {}).get("application/json")
                if json is not None and not json.get("schema"):
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []
    assert "JsonValue" in spec["components"]["schemas"]
