"""End to end on simnet, in virtual time: the node read through its LND REST face, the
store filled cycle by cycle, the monitor judging it, the notifier delivering to a real
webhook receiver, and incident actions carried out on the simulated node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest

from lnpilot.monitor import Monitor, MonitorConfig, decide, incident_markdown
from lnpilot.monitor.causes import causes_of
from lnpilot.monitor.engine import CycleReport
from lnpilot.monitor.playbook import CLOSE_CHANNEL, LOWER_MAX_HTLC, RAISE_FEE
from lnpilot.notify import Notifier, NotifyConfig
from lnpilot.store import Store
from lnpilot.store.alerts import ActionState, AlertStatus, Horizon, monitor_book

from .conftest import Sim

MINUTE = timedelta(minutes=1)


class Inbox:
    """A webhook receiver: a real HTTP server keeping every JSON body it accepts."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                inbox.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def told(self, rule: str) -> list[str]:
        """The statuses notified for ``rule``, in order."""
        return [
            a["status"]
            for body in self.bodies
            for a in body["alerts"]
            if a["labels"]["alertname"] == rule
        ]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    yield box
    box.server.shutdown()
    box.server.server_close()


def notify_config(url: str) -> NotifyConfig:
    return NotifyConfig.model_validate(
        {
            "receivers": {"hook": {"type": "webhook", "url": url, "secret": "s3cret-hook"}},
            "routes": [{"name": "all", "receivers": ["hook"]}],
        }
    )


async def cycle(sim: Sim, store: Store, monitor: Monitor, notifier: Notifier | None) -> CycleReport:
    await sim.collect(store)
    report = await monitor.run_once(sim.now)
    if notifier is not None:
        await notifier.run_once(sim.now)
    return report


async def test_peer_offline_fires_after_its_hold_notifies_once_and_resolves_once(
    sim: Sim, store: Store, inbox: Inbox
) -> None:
    monitor = Monitor(store, MonitorConfig(), sim.nodes["ours"], sim.lnd)
    async with Notifier(store, notify_config(inbox.url)) as notifier:
        await cycle(sim, store, monitor, notifier)
        with sim.lock:
            sim.net.set_online(sim.nodes["carol"], False)
        fired_at = None
        for _ in range(30):
            sim.advance(MINUTE)
            report = await cycle(sim, store, monitor, notifier)
            if any(a.rule == "peer_offline" for a in report.fired):
                fired_at = sim.now
        assert fired_at is not None and fired_at - (sim.now - 30 * MINUTE) >= timedelta(
            minutes=10
        ), "pending for the rule's 10 minutes first"
        assert inbox.told("peer_offline") == ["firing"], "notified once, not every cycle"
        assert inbox.told("channel_inactive") == [], "inhibited: the peer being offline says it"
        with sim.lock:
            sim.net.set_online(sim.nodes["carol"], True)
        for _ in range(30):
            sim.advance(MINUTE)
            await cycle(sim, store, monitor, notifier)
    assert inbox.told("peer_offline") == ["firing", "resolved"]
    async with monitor_book(store) as book:
        assert await book.list_alerts() == [], "nothing left open"


async def test_a_persistent_drain_is_forecast_before_the_channel_is_empty(
    sim: Sim, store: Store
) -> None:
    monitor = Monitor(store, MonitorConfig(), sim.nodes["ours"])
    chan = sim.chans["ours-erin"]
    forecast_left_msat = None
    for _ in range(40):
        sim.advance(timedelta(minutes=5))
        assert sim.pay("ours", "erin", 10_000)
        report = await cycle(sim, store, monitor, None)
        if any(a.rule == "liquidity_depletion_forecast" for a in report.fired):
            with sim.lock:
                forecast_left_msat = chan.balance_msat[chan.side_of(sim.nodes["ours"])]
            break
    assert forecast_left_msat is not None, "the forecast never fired"
    assert forecast_left_msat > 300_000_000, "fired with most of the balance still there"


async def test_a_force_close_opens_a_critical_incident_with_its_plan(
    sim: Sim, store: Store
) -> None:
    monitor = Monitor(store, MonitorConfig(), sim.nodes["ours"], sim.lnd)
    await cycle(sim, store, monitor, None)
    with sim.lock:
        sim.net.close_channel(sim.chans["alice-ours"].chan_id, sim.nodes["alice"], force=True)
        sim.net.mine_block()
    sim.advance(MINUTE)
    report = await cycle(sim, store, monitor, None)
    [closed] = [a for a in report.fired if a.rule == "channel_closed"]
    assert closed.severity.value == "critical" and closed.details["close_type"] == "remote_force"
    [incident_id] = report.incidents_opened
    async with monitor_book(store) as book:
        incident = await book.incident(incident_id)
        actions = await book.actions(incident_id)
        timeline = await book.timeline(incident_id)
    assert incident is not None and incident.labels["scid"] == "800000x1x0"
    assert {a.horizon for a in actions} == set(Horizon)
    text = incident_markdown(incident, timeline, actions)
    assert "### Immediate" in text and "### Long term" in text and "remote_force" in text
    # it explains itself: the close, found in the store, ranked first with its evidence
    top = causes_of(timeline)[0]
    assert top.kind == "channel_closed" and top.evidence["close_type"] == "remote_force"
    assert "## Likely causes" in text and "1. channel 800000x1x0 closed (remote_force" in text
    assert "on-chain fee rates" in text, "what it could not check is said"


async def test_incident_actions_run_as_the_policy_allows_and_a_close_waits_for_approval(
    sim: Sim, store: Store
) -> None:
    config = MonitorConfig.model_validate(
        {
            "rules": {"liquidity_out_of_band": {"severity": "critical", "for_s": 0}},
            "incidents": {"mode": "apply", "auto_actions": [LOWER_MAX_HTLC, "disable_channel"]},
        }
    )
    monitor = Monitor(store, config, sim.nodes["ours"], sim.lnd)
    chan = sim.chans["ours-carol"]
    with sim.lock:  # most of our side moved to carol's
        side = chan.side_of(sim.nodes["ours"])
        chan.balance_msat[side] -= 450_000_000
        chan.balance_msat[1 - side] += 450_000_000
    report = await cycle(sim, store, monitor, None)
    [incident_id] = report.incidents_opened
    done = {o.state for o in report.actions}
    assert done == {ActionState.DONE}, report.actions
    [ours] = [c for c in await sim.lnd.list_channels() if c.scid == "800000x2x0"]
    [read] = await sim.lnd.get_policies([ours])
    assert read.local_policy is not None and read.local_policy.max_htlc_msat == 25_000_000

    async with monitor_book(store) as book:
        actions = {a.kind: a for a in await book.actions(incident_id)}
    assert actions[RAISE_FEE].state is ActionState.PROPOSED, "not in auto_actions: waits"
    assert actions[RAISE_FEE].id is not None
    await decide(store, incident_id, actions[RAISE_FEE].id, ActionState.APPROVED, "op", sim.now)
    sim.advance(MINUTE)
    report = await cycle(sim, store, monitor, None)
    [raised] = report.actions
    assert raised.state is ActionState.DONE and "from 100 to 125 ppm" in raised.text
    [read] = await sim.lnd.get_policies([ours])
    assert read.local_policy is not None and read.local_policy.fee_rate_ppm == 125


async def test_a_close_is_never_carried_out_without_an_approval(sim: Sim, store: Store) -> None:
    config = MonitorConfig.model_validate(
        {
            "rules": {"peer_offline": {"severity": "critical", "for_s": 0}},
            "incidents": {
                "mode": "apply",
                "auto_actions": [CLOSE_CHANNEL, "disable_channel", RAISE_FEE, LOWER_MAX_HTLC],
            },
        }
    )
    monitor = Monitor(store, config, sim.nodes["ours"], sim.lnd)
    await cycle(sim, store, monitor, None)
    with sim.lock:
        sim.net.set_online(sim.nodes["erin"], False)
    sim.advance(MINUTE)
    report = await cycle(sim, store, monitor, None)
    [incident_id] = report.incidents_opened
    async with monitor_book(store) as book:
        states = {a.kind: a.state for a in await book.actions(incident_id)}
        [alert] = [a for a in await book.list_alerts() if a.rule == "peer_offline"]
        causes = causes_of(await book.timeline(incident_id))
    assert alert.status is AlertStatus.FIRING
    assert [c.kind for c in causes] == ["peer_offline"]
    assert causes[0].evidence["peer"] == sim.nodes["erin"]
    assert states[CLOSE_CHANNEL] is ActionState.PROPOSED
    assert states["disable_channel"] is ActionState.DONE
    assert [c.scid for c in await sim.lnd.list_channels()].count("800000x3x0") == 1


async def test_dry_run_records_what_it_would_do_and_changes_nothing(sim: Sim, store: Store) -> None:
    config = MonitorConfig.model_validate(
        {
            "rules": {"peer_offline": {"severity": "critical", "for_s": 0}},
            "incidents": {"auto_actions": ["disable_channel"]},
        }
    )
    monitor = Monitor(store, config, sim.nodes["ours"], sim.lnd)
    await cycle(sim, store, monitor, None)
    with sim.lock:
        sim.net.set_online(sim.nodes["erin"], False)
    sim.advance(MINUTE)
    report = await cycle(sim, store, monitor, None)
    [outcome] = report.actions
    assert outcome.state is ActionState.DRY_RUN
    assert outcome.text == "would disable routing over 800000x3x0"
    [erin] = [c for c in await sim.lnd.list_channels() if c.scid == "800000x3x0"]
    [read] = await sim.lnd.get_policies([erin])
    assert read.local_policy is not None and not read.local_policy.disabled


async def test_a_drained_channel_is_explained_by_what_changed_before_it(
    sim: Sim, store: Store
) -> None:
    """Before carol's channel leaves its liquidity band, carol flapped three times, raised
    her fee, and we lowered ours: the incident lists all three, the flapping first (the
    likeliest), each with its evidence; an unrelated peer's change is not listed."""
    config = MonitorConfig.model_validate(
        {"rules": {"liquidity_out_of_band": {"severity": "critical", "for_s": 0}}}
    )
    monitor = Monitor(store, config, sim.nodes["ours"], sim.lnd)
    await cycle(sim, store, monitor, None)
    chan, carol = sim.chans["ours-carol"], sim.nodes["carol"]
    for online in (False, True) * 3:
        with sim.lock:
            sim.net.set_online(carol, online)
        sim.advance(MINUTE)
        await cycle(sim, store, monitor, None)
    with sim.lock:
        sim.net.update_policy(chan.chan_id, carol, fee_rate_ppm=2_500)
        sim.net.update_policy(chan.chan_id, sim.nodes["ours"], fee_rate_ppm=10)
        sim.net.set_online(sim.nodes["erin"], False)
    sim.advance(MINUTE)
    await cycle(sim, store, monitor, None)
    with sim.lock:  # most of our side moved to carol's
        side = chan.side_of(sim.nodes["ours"])
        chan.balance_msat[side] -= 450_000_000
        chan.balance_msat[1 - side] += 450_000_000
    sim.advance(MINUTE)
    report = await cycle(sim, store, monitor, None)
    [incident_id] = report.incidents_opened
    async with monitor_book(store) as book:
        causes = causes_of(await book.timeline(incident_id))
    assert [c.kind for c in causes] == [
        "peer_flapping",
        "our_policy_changed",
        "peer_policy_changed",
    ]
    flapping, ours, peers = causes
    assert flapping.evidence["disconnects"] == 3 and flapping.score > ours.score > peers.score
    assert (ours.evidence["fee_rate_ppm_before"], ours.evidence["fee_rate_ppm_after"]) == (100, 10)
    assert peers.evidence["fee_rate_ppm_after"] == 2_500


async def test_an_incident_nothing_in_the_store_explains_says_so(sim: Sim, store: Store) -> None:
    config = MonitorConfig.model_validate(
        {"rules": {"liquidity_out_of_band": {"severity": "critical", "for_s": 0}}}
    )
    monitor = Monitor(store, config, sim.nodes["ours"], sim.lnd)
    chan = sim.chans["ours-carol"]
    with sim.lock:
        side = chan.side_of(sim.nodes["ours"])
        chan.balance_msat[side] -= 450_000_000
        chan.balance_msat[1 - side] += 450_000_000
    report = await cycle(sim, store, monitor, None)
    [incident_id] = report.incidents_opened
    async with monitor_book(store) as book:
        timeline = await book.timeline(incident_id)
    assert causes_of(timeline) == []
    [entry] = [e for e in timeline if e.kind == "causes"]
    assert entry.text == "no change around the opening explains it in the store"
