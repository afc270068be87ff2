"""The daemon's loops judged on the clock they run on, as ``build_loops`` composes them.

The loops are called one by one here, with the simulation's clock moved between calls the
way a daemon at a speed-up would see it: the demo collects every 5 wall-clock seconds at
120x, so consecutive cycles are 10 virtual minutes apart. A collector restarted after a
stop (a crash, a kill -9) must record the gap through ``run_once``, the path the daemon
uses; a healthy node collected on schedule must raise no ``node_unreachable``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.engine import URL
from typer.testing import CliRunner

from collect.conftest import EPOCH, Sim, database_url, sim, store
from lnpilot.api.app import create_app
from lnpilot.cli.main import app
from lnpilot.config import Settings
from lnpilot.monitor import MonitorConfig, incident_markdown
from lnpilot.notify import Notifier, NotifyConfig
from lnpilot.service import Services
from lnpilot.service.daemon import EngineConfig, build_loops
from lnpilot.store import EventKind, Store
from lnpilot.store.alerts import monitor_book
from lnpilot.store.tokens import Scope, create_token

FAR = timedelta(days=3650)
__all__ = ["database_url", "sim", "store"]  # the collector's fixtures, on its databases


def _services(sim: Sim, store: Store, tmp_path: Path, speed: float) -> Services:
    settings = Settings(
        lnbits={"url": "http://127.0.0.1:9"},
        data_dir=tmp_path,
        service={"collect_interval_s": 5, "monitor_interval_s": 5},
    )
    return Services(
        store=store, node=sim.lnd, settings=settings, clock=lambda: sim.now, clock_speed=speed
    )


async def _loops(services: Services, store: Store) -> dict[str, Callable[[], Awaitable[object]]]:
    notifier = Notifier(store, NotifyConfig())
    engine = EngineConfig(MonitorConfig(), NotifyConfig(), None)
    return {loop.name: loop.run_once for loop in build_loops(services, engine, notifier)}


async def test_a_daemon_restarted_after_a_stop_records_the_collector_gap(
    sim: Sim, store: Store, tmp_path: Path
) -> None:
    loops = await _loops(_services(sim, store, tmp_path, speed=1.0), store)
    await loops["collect"]()
    stopped_at = sim.now
    sim.advance(timedelta(minutes=5))  # killed; restarted 5 minutes later (60 intervals)
    restarted = await _loops(_services(sim, store, tmp_path, speed=1.0), store)
    await restarted["collect"]()
    async with store.read() as reader:
        node_id = await reader.node_id(sim.nodes["ours"])
        assert node_id is not None
        gaps = await reader.events(node_id, EPOCH, sim.now + FAR, kinds=[EventKind.COLLECTOR_GAP])
    [gap] = gaps
    assert gap.payload["since"] == stopped_at.isoformat()
    assert gap.payload["gap_s"] == 300.0


async def test_cycles_on_schedule_at_a_speed_up_are_no_gap_and_no_outage(
    sim: Sim, store: Store, tmp_path: Path
) -> None:
    """The demo: 5 s of wall time at 120x is 600 virtual seconds between cycles, a little
    more when a cycle is late; that is the schedule, not an outage."""
    loops = await _loops(_services(sim, store, tmp_path, speed=120.0), store)
    for _ in range(6):
        await loops["collect"]()
        sim.advance(timedelta(seconds=630))
        await loops["monitor"]()
    async with store.read() as reader:
        node_id = await reader.node_id(sim.nodes["ours"])
        assert node_id is not None
        gaps = await reader.events(node_id, EPOCH, sim.now + FAR, kinds=[EventKind.COLLECTOR_GAP])
    async with monitor_book(store) as book:
        alerts = await book.open_alerts(node_id)
    assert gaps == []
    assert [a.rule for a in alerts if a.rule == "node_unreachable"] == []


async def test_an_incident_whose_alert_resolved_says_so(
    sim: Sim, store: Store, database_url: URL, tmp_path: Path
) -> None:
    """The node goes away: node_unreachable fires and opens an incident; the node comes
    back: the alert resolves, and the incident (open until a person documents a cause)
    says its alert resolved, and when, in the store's read model and its export."""
    loops = await _loops(_services(sim, store, tmp_path, speed=1.0), store)
    await loops["collect"]()
    await loops["monitor"]()
    sim.stop_face()
    for _ in range(3):  # past the rule's 120 s hold
        sim.advance(timedelta(seconds=65))
        await loops["monitor"]()
    async with monitor_book(store) as book:
        [opened] = await book.incidents()
    assert opened.rule == "node_unreachable" and opened.alert_resolved_at is None
    sim.restart_face()
    sim.advance(timedelta(seconds=5))
    back_at = sim.now
    await loops["collect"]()
    await loops["monitor"]()
    async with monitor_book(store) as book:
        [incident] = await book.incidents()
        timeline = await book.timeline(incident.id)
        actions = await book.actions(incident.id)
    assert incident.status.value == "open"
    assert incident.alert_resolved_at == back_at
    text = incident_markdown(incident, timeline, actions)
    assert "| Alert | resolved 2025-03-01 12:03:20 UTC |" in text
    # the API and the CLI say it too
    services = _services(sim, store, tmp_path, speed=1.0)
    async with store.transaction() as tx:
        _, token = await create_token(tx, "viewer", Scope.READ, sim.now)
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://lnpilot") as http:
        answer = await http.get(
            f"/api/v1/incidents/{incident.id}", headers={"Authorization": f"Bearer {token}"}
        )
        page = await http.get(
            f"/dashboard/incidents/{incident.id}", params={"token": token}, follow_redirects=True
        )
    # which explains itself by the failed probes before it opened
    assert answer.json()["causes"][0]["kind"] == "node_unreachable"
    assert "Its alert resolved" in page.text and "Likely causes" in page.text
    assert "did not answer" in page.text
    assert answer.json()["incident"]["alert_resolved_at"] == back_at.isoformat().replace(
        "+00:00", "Z"
    )
    url = database_url.render_as_string(hide_password=False)
    listed = await asyncio.to_thread(CliRunner().invoke, app, ["incidents", "--json", "--db", url])
    [shown] = json.loads(listed.output)
    assert shown["status"] == "open"
    assert datetime.fromisoformat(shown["alert_resolved_at"]) == back_at
