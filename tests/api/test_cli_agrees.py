"""``lnpilot … --json`` and the REST API give one shape for one object.

Both serialise the same typed model through pydantic (the CLI with
:func:`lnpilot.cli.output.emit_model`), so a script can move from one to the other. Here the
same store, collected from the simulated node through its LND REST face, is read through the
CLI (in-process, on a thread of its own: it runs its own event loop) and through the app, and
each object's two answers must be equal.

The CLI reads the wall clock; the app reads ``now`` from the test. Where an answer depends on
``now`` (a channel's metrics, the rebalance history's range), the app is asked at the instant
the CLI's answer names, so both compute over the same windows.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from collect.conftest import MACAROON, Sim, running_sim
from lnpilot.api.app import create_app
from lnpilot.cli.main import app as cli_app
from lnpilot.monitor import Monitor, MonitorConfig
from lnpilot.service import Services
from lnpilot.store import Store, rebalances, sqlite_url
from lnpilot.store.rebalances import AttemptRecord, RebalanceDecision, RebalanceRun
from lnpilot.store.tokens import Scope, create_token

from .conftest import collected, settings_for

CAROL, DAVE = "800000x2x0", "800000x4x0"


class Both:
    """The CLI and the API over one store; ``at`` is the instant the API takes for now."""

    def __init__(
        self, sim: Sim, url: str, http: httpx.AsyncClient, token: str, policy: Path
    ) -> None:
        self.sim, self.url, self.http, self.token, self.policy = sim, url, http, token, policy
        self.at = datetime.now(UTC)

    async def cli(self, *args: str) -> Any:
        env = {
            "COLUMNS": "200",
            "LNPILOT_LNBITS__URL": "http://127.0.0.1:9",  # not used: the node is LND's face
            "LNPILOT_LND__REST_URL": self.sim.face.url,
            "LNPILOT_LND__MACAROON": MACAROON,
        }
        command = [*args, "--db", self.url, "--json"]
        result = await asyncio.to_thread(CliRunner().invoke, cli_app, command, env=env)
        assert result.exit_code == 0, (command, result.output)
        return json.loads(result.stdout)

    async def api(self, path: str, **params: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = await self.http.get(f"/api/v1{path}", headers=headers, params=params)
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()


@pytest.fixture
async def both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Both]:
    """A node with forwards, a closed channel, an alert and its incident, and a silence."""
    for name in list(os.environ):  # the developer's own configuration stays out
        if name.upper().startswith("LNPILOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # the network's clock runs an hour behind the wall clock the CLI reads, so everything
    # it recorded lies in the CLI's past
    async with (
        running_sim(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)) as sim,
        await Store.open(sqlite_url(tmp_path / "data")) as store,
    ):
        await collected(sim, store)
        with sim.lock:
            sim.ours.close_channel(sim.chans[DAVE].channel_point, force=True)
        sim.mine(6)
        await sim.collector(store).run_once()
        await Monitor(store, MonitorConfig(), sim.nodes["ours"]).run_once(sim.now)
        async with store.transaction() as tx:
            _, token = await create_token(tx, "viewer", Scope.READ, sim.now)
        services = Services(
            store=store, node=sim.lnd, settings=settings_for(tmp_path), clock=lambda: found.at
        )
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://lnpilot") as http:
            found = Both(sim, sqlite_url(tmp_path / "data"), http, token, tmp_path / "fees.toml")
            yield found


async def test_one_channel_closed_channels_alerts_and_incidents(both: Both) -> None:
    one = await both.cli("channel", CAROL, "--node", both.sim.nodes["ours"])
    both.at = datetime.fromisoformat(one["metrics"]["now"])
    assert one == await both.api(f"/channels/{CAROL}")
    assert one["metrics"]["windows"] and one["policy_history"]

    closed = await both.cli("channels", "--closed", "--node", both.sim.nodes["ours"])
    assert [v["record"]["channel"]["scid"] for v in closed] == [DAVE]
    assert closed == await both.api("/channels/closed")
    history = await both.cli("channel", DAVE, "--node", both.sim.nodes["ours"])
    assert history == await both.api(f"/channels/closed/{DAVE}")

    alerts = await both.cli("alerts", "--all")
    assert "channel_closed" in {a["rule"] for a in alerts}
    assert alerts == await both.api("/alerts", all="true")
    incidents = await both.cli("incidents", "--all")
    assert incidents, "the force close opened an incident"
    assert incidents == await both.api("/incidents", all="true")

    added = await both.cli("alerts", "silence", "add", f"scid={DAVE}", "--for", "2h", "-m", "seen")
    assert await both.cli("alerts", "silence", "list", "--all") == [added]
    assert await both.api("/alerts/silences") == [added]


async def test_a_fee_run_and_a_channel_s_fee_decisions(both: Both) -> None:
    planned = await both.cli("fees", "plan", "--policy", str(both.policy))
    assert planned["run"]["mode"] == "dry-run" and planned["decisions"]
    assert planned == await both.api(f"/fees/runs/{planned['run']['id']}")
    decided = await both.cli("fees", "history", "--channel", CAROL)
    assert decided == [d for d in planned["decisions"] if d["scid"] == CAROL] != []


async def journal_a_rebalance(both: Both, at: datetime) -> None:
    """A rebalance into carol's channel as the rebalancer journals one: planned, started, one
    attempt that found no route, one that paid, finished (the store's own writes)."""
    carol = both.sim.chans[CAROL].chan_id
    async with await Store.open(both.url) as store:
        async with store.read() as reader:
            node_id = await reader.node_id(both.sim.nodes["ours"])
        assert node_id is not None
        decision = RebalanceDecision(
            "target", "rebalance", "20% below band 30-70%", "planned", chan_id=carol, scid=CAROL
        )
        async with store.transaction() as tx:
            _, (decision_id,) = await rebalances.record_run(
                tx, RebalanceRun(node_id, at, "apply", "test", 50_000), [decision]
            )
            await rebalances.start_rebalance(tx, decision_id, at)
            for outcome, route_fee_msat, paid_msat in (
                ("no_route", None, None),
                ("succeeded", 7_000, 7_000),
            ):
                await rebalances.add_attempt(
                    tx,
                    AttemptRecord(
                        decision_id,
                        node_id,
                        at,
                        100_000_000,
                        20_000,
                        outcome,
                        route_fee_msat=route_fee_msat,
                        fee_paid_msat=paid_msat,
                        hops=[{"chan_id": carol, "pubkey": both.sim.nodes["ours"], "fee_msat": 0}],
                    ),
                )
            await rebalances.finish_rebalance(
                tx,
                decision_id,
                outcome="succeeded",
                moved_msat=100_000_000,
                fee_paid_msat=7_000,
                failure=None,
                finished_at=at,
                duration_ms=40,
            )


async def test_the_rebalance_history_with_its_attempts(both: Both) -> None:
    await journal_a_rebalance(both, both.sim.now - timedelta(minutes=20))
    found = await both.cli("rebalance", "history")
    both.at = datetime.fromisoformat(found["until"])
    assert found == await both.api("/rebalances/history")
    (rebalance,) = found["rebalances"]
    assert (rebalance["target_scid"], rebalance["cost_msat"]) == (CAROL, 7_000)
    assert [a["outcome"] for a in rebalance["attempts"]] == ["no_route", "succeeded"]
    (channel,) = found["channels"]
    assert (channel["scid"], channel["bought_msat"]) == (CAROL, 100_000_000)
    assert channel["earned_msat"] > 0, "traffic left through carol's channel after it"
