"""Backtests through the API: started in the background (admin, audited, one at a time),
followed to their report, stored so they survive the daemon, and interrupted with it.

The backtest runs for real: the simulated node read through its LND REST face, the store's
history fitted, both policies run in the lab in a child process. The tests wait on the job
itself (``BacktestJobs.finished``), never on time.
"""

from __future__ import annotations

import pytest

from lnpilot.backtest import jobs
from lnpilot.backtest.jobs import MAX_RUNNING, BacktestRequest
from lnpilot.service.actions import Refused
from lnpilot.store import audit, backtests
from lnpilot.store.backtests import BacktestRecord
from lnpilot.store.tokens import ApiToken, Scope

from .conftest import T0, Api

#: A token record for calls below the faces (its name is all a start records).
ADMIN = ApiToken(id=1, name="operator", scope=Scope.ADMIN, created_at=T0)

#: The daemon's policy (conftest) is static 321 ppm; the candidate asks for far more.
CANDIDATE = (
    '[safety]\nmax_step_floor_ppm = 100_000\nmin_interval = "1s"\n'
    '[[rule]]\nname = "all"\nstrategy = "static"\nstatic.fee_rate_ppm = 3000\n'
)
TINY = {"candidate_policy": CANDIDATE, "name": "dearer", "days": 0.1, "seeds": 1, "warmup_days": 0}


async def test_a_backtest_runs_in_the_background_to_its_report(api: Api) -> None:
    admin = api.auth(admin=True)
    refused = await api.http.post("/api/v1/backtests", headers=api.auth(), json=TINY)
    assert refused.status_code == 403

    started = await api.http.post("/api/v1/backtests", headers=admin, json=TINY)
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["state"] == "running" and body["candidate"] == "dearer"
    assert body["current"] == "fees" and body["runs_total"] == 2
    assert body["created_by"] == "operator"

    second = await api.http.post("/api/v1/backtests", headers=admin, json=TINY)
    assert second.status_code == 409
    assert f"#{body['id']} is running; at most {MAX_RUNNING}" in second.json()["detail"]

    await jobs.finished(api.services, body["id"])
    done = (await api.http.get(f"/api/v1/backtests/{body['id']}", headers=api.auth())).json()
    assert done["state"] == "done", done["error"]
    assert done["runs_done"] == done["runs_total"] == 2
    report = done["report"]
    # lnpilot backtest --json's data: both arms, the verdict, the candidate's decisions.
    assert report["current"]["name"] == "fees" and report["candidate"]["name"] == "dearer"
    assert report["options"]["seeds"] == [0] and report["options"]["days"] == 0.1
    assert report["verdict"]["outcome"] in {"better", "worse", "no clear difference"}
    assert report["decisions"][0]["new_fee_rate_ppm"] == 3000
    assert set(report["candidate"]["channel_fees_msat"]) == {
        f"800000x{n}x0" for n in range(1, 7)
    } & set(report["current"]["channel_fees_msat"])

    listed = (await api.http.get("/api/v1/backtests", headers=api.auth())).json()
    assert [b["id"] for b in listed] == [body["id"]]
    assert listed[0]["report"] is None  # the list shows states, not reports

    async with api.store.read() as reader:
        entries = await audit.entries(reader)
    assert [(e.action, e.outcome) for e in reversed(entries)] == [
        ("backtests.start", "ok"),
        ("backtests.start", "refused"),  # the second, beyond the limit
    ]
    assert entries[1].detail["backtest_id"] == body["id"]


async def test_bad_requests_say_what_is_wrong(api: Api) -> None:
    admin = api.auth(admin=True)
    broken = {**TINY, "candidate_policy": "[[rule]]\nstrategy = 'nope'\n"}
    answer = await api.http.post("/api/v1/backtests", headers=admin, json=broken)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("candidate_policy: ")
    many = await api.http.post("/api/v1/backtests", headers=admin, json={**TINY, "seeds": 99})
    assert many.status_code == 422
    assert any("seeds" in p for p in many.json()["problems"])
    # The same bounds hold whichever face asks (the dashboard's form goes straight here).
    with pytest.raises(Refused, match="seeds: 21 is above 20, the most here"):
        await jobs.start(api.services, ADMIN, BacktestRequest(CANDIDATE, seeds=21))
    with pytest.raises(Refused, match="name: 'a b' is not 1 to 64 letters"):
        await jobs.start(api.services, ADMIN, BacktestRequest(CANDIDATE, candidate_name="a b"))
    missing = await api.http.get("/api/v1/backtests/42", headers=api.auth())
    assert missing.status_code == 404 and missing.json()["detail"] == "no backtest 42"


async def test_a_stopped_daemon_leaves_its_backtests_interrupted(api: Api) -> None:
    admin = api.auth(admin=True)
    started = await api.http.post(
        "/api/v1/backtests", headers=admin, json={**TINY, "days": 30, "seeds": 5}
    )
    assert started.status_code == 202
    await api.services.background.aclose()  # the daemon stops: its child is killed
    stopped = (
        await api.http.get(f"/api/v1/backtests/{started.json()['id']}", headers=api.auth())
    ).json()
    assert stopped["state"] == "interrupted" and stopped["error"] == backtests.INTERRUPTED
    assert stopped["report"] is None

    # A daemon killed outright leaves its backtest marked running; the next one to start
    # marks it interrupted (``Daemon.run`` does this first).
    async with api.store.transaction() as tx:
        left = await backtests.add(
            tx,
            BacktestRecord(
                state="running",
                current="fees",
                candidate="x",
                created_by="operator",
                created_at=T0,
                runs_total=2,
                options={},
            ),
        )
    async with api.store.transaction() as tx:
        assert await backtests.interrupt_running(tx, T0) == 1
    async with api.store.read() as reader:
        found = await backtests.get(reader, left)
    assert found is not None and found.state == "interrupted"
    assert found.finished_at is not None
