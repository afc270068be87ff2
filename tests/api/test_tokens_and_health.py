"""``lnpilot tokens`` against a real store, and the public health endpoint."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from lnpilot.cli.main import app
from lnpilot.store import Store, fee_journal, sqlite_url
from lnpilot.store.tokens import ApiToken, find_token

from .conftest import Api


def lookup(url: str, secret: str) -> ApiToken | None:
    async def work() -> ApiToken | None:
        async with await Store.open(url) as store, store.read() as reader:
            return await find_token(reader, secret)

    return asyncio.run(work())


def test_tokens_create_list_revoke(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    runner = CliRunner()
    made = runner.invoke(app, ["tokens", "create", "grafana", "--db", url, "--json"])
    assert made.exit_code == 0, made.output
    token = json.loads(made.output)
    assert token["scope"] == "read" and token["token"].startswith("lnp_")
    found = lookup(url, token["token"])
    assert found is not None and found.name == "grafana"

    admin = runner.invoke(app, ["tokens", "create", "ops", "--scope", "admin", "--db", url])
    assert admin.exit_code == 0 and "keep it now" in admin.output
    listed = json.loads(runner.invoke(app, ["tokens", "list", "--db", url, "--json"]).output)
    assert [(t["name"], t["scope"]) for t in listed] == [("grafana", "read"), ("ops", "admin")]
    assert token["token"] not in json.dumps(listed)

    revoked = runner.invoke(app, ["tokens", "revoke", str(token["id"]), "--db", url])
    assert revoked.exit_code == 0
    assert lookup(url, token["token"]) is None
    again = runner.invoke(app, ["tokens", "revoke", str(token["id"]), "--db", url])
    assert again.exit_code == 1
    too_long = runner.invoke(app, ["tokens", "create", "x" * 65, "--db", url])
    assert too_long.exit_code == 2


async def test_health_names_the_failing_loop_and_needs_no_token(api: Api) -> None:
    health, now = api.services.health, api.sim.now
    health.register("collect", 60)
    health.register("monitor", 60)
    health.started("collect", now)
    health.succeeded("collect", now, 0.2)
    ok = await api.http.get("/health")
    assert ok.status_code == 200 and ok.json()["healthy"] is True
    health.failed("monitor", now, 0.1, "NodeError: node unreachable")
    down = await api.http.get("/api/v1/health")
    assert down.status_code == 503
    loops = {loop["status"]["name"]: loop for loop in down.json()["loops"]}
    assert loops["monitor"]["healthy"] is False
    assert loops["monitor"]["status"]["last_error"] == "NodeError: node unreachable"
    assert loops["collect"]["status"]["last_success_at"] == now.isoformat().replace("+00:00", "Z")
    # a loop that last succeeded more than three intervals ago is unhealthy too
    api.sim.advance(timedelta(minutes=4))
    stale = (await api.http.get("/health")).json()
    assert {loop["status"]["name"]: loop["healthy"] for loop in stale["loops"]} == {
        "collect": False,
        "monitor": False,
    }


async def test_health_and_metrics_say_owner_or_standby(api: Api) -> None:
    """The role comes from the ``ownership`` loop's health (PostgreSQL daemons have one; a
    SQLite daemon has none and owns its node)."""
    health, now = api.services.health, api.sim.now

    async def role_line() -> str:
        page = (await api.http.get("/metrics", headers=api.auth())).text
        return next(
            line.split("{")[1].split("}")[0]
            for line in page.splitlines()
            if line.startswith("lnpilot_ownership_role{") and line.endswith(" 1.0")
        )

    assert (await api.http.get("/health")).json()["role"] == "owner"
    assert await role_line() == 'role="owner"'
    health.register("ownership", 30)
    health.started("ownership", now)
    health.waiting("ownership", now, 0.01, "standby: another daemon holds this node's lock")
    assert (await api.http.get("/health")).json()["role"] == "standby"
    assert await role_line() == 'role="standby"'
    health.started("ownership", now)
    health.succeeded("ownership", now, 0.01)
    assert (await api.http.get("/health")).json()["role"] == "owner"


async def test_a_standby_serves_reads_and_refuses_actions(api: Api) -> None:
    """Another daemon owns the node: this one's API reads the store, and an action (a fee
    apply) is refused with 503 before anything is done, until this daemon owns the node."""
    health, now = api.services.health, api.sim.now
    health.register("ownership", 30)
    health.started("ownership", now)
    health.waiting("ownership", now, 0.01, "standby: another daemon holds this node's lock")
    channels = await api.http.get("/api/v1/channels", headers=api.auth())
    assert channels.status_code == 200 and channels.json()
    refused = await api.http.post("/api/v1/fees/apply", headers=api.auth(admin=True))
    assert refused.status_code == 503 and "standby" in refused.json()["detail"]
    assert (await api.http.post("/api/v1/fees/apply", headers=api.auth())).status_code == 403
    async with api.store.read() as reader:  # nothing was done: no fee run journaled
        node_id = await api.services.node_id()
        assert node_id is not None
        assert await fee_journal.runs(reader, node_id) == []
    health.started("ownership", now)
    health.succeeded("ownership", now, 0.01)
    applied = await api.http.post("/api/v1/fees/apply", headers=api.auth(admin=True))
    assert applied.status_code == 200, applied.text
