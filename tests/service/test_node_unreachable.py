"""``lnpilot run`` started while the node cannot be reached, after earlier runs filled its
store: it alerts, it serves the past from the store (API, dashboard, ``lnpilot channels``),
saying since when the node is unreachable, and it logs one line per state change of each
loop instead of a traceback per attempt. When the node answers again, the collector
resumes without waiting out its backoff."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from .conftest import LNPILOT, Daemon, busy_sim, daemon_process

#: node_unreachable at once, so the test waits for a signal, not for a rule's hold time.
ALERTS = """
[rules.node_unreachable]
for_s = 0
"""
#: The backoff cap is an hour: a collector that waited out its backoff would not resume
#: within the test's timeout.
SERVICE = {"backoff_max_s": 3600, "monitor_interval_s": 1}


def _until(what: str, check: Callable[[], Any], daemon: Daemon, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert daemon.process.poll() is None, daemon.log.read_text()
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{daemon.log.read_text()}")


def _collect_status(daemon: Daemon) -> dict[str, Any]:
    body = httpx.get(f"{daemon.url}/health", timeout=5).json()
    [collect] = [loop["status"] for loop in body["loops"] if loop["status"]["name"] == "collect"]
    return collect  # type: ignore[no-any-return]


def _serves_the_past(daemon: Daemon) -> None:
    """The API, the dashboard and ``lnpilot channels`` answer from the store, and the last
    two say the node cannot be reached."""
    channels = httpx.get(f"{daemon.url}/api/v1/channels", headers=daemon.auth(), timeout=5)
    assert channels.status_code == 200 and len(channels.json()) == 6
    page = httpx.get(
        f"{daemon.url}/dashboard/channels",
        params={"token": daemon.read_token},
        timeout=5,
        follow_redirects=True,
    )
    assert page.status_code == 200, page.text
    assert page.text.count("800000x") >= 6
    assert re.search(r"The node cannot be reached since \d{4}-\d\d-\d\d", page.text)
    listed = subprocess.run(
        [*LNPILOT, "--config", str(daemon.config), "channels", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    assert len(shown["channels"]) == 6 and shown["node_unreachable"]


async def test_a_daemon_started_while_the_node_is_down_alerts_serves_the_past_and_recovers(
    tmp_path: Path,
) -> None:
    async with busy_sim() as sim:
        with daemon_process(tmp_path, sim.face.url, alerts=ALERTS, **SERVICE) as daemon:
            daemon.wait_healthy({"collect"})
            assert daemon.terminate() == 0
        sim.stop_face()

        with daemon_process(tmp_path, sim.face.url, alerts=ALERTS, **SERVICE) as daemon:
            # the alert fires although the node never answered this process
            alerts = _until(
                "node_unreachable",
                lambda: [
                    a for a in daemon.get("/api/v1/alerts") if a["rule"] == "node_unreachable"
                ],
                daemon,
            )
            assert {a["status"] for a in alerts} == {"firing"}
            _serves_the_past(daemon)
            # many failed attempts, one log line for the collector's change of state
            _until("5 failed collections", lambda: _collect_status(daemon)["failures"] >= 5, daemon)
            log = daemon.log.read_text()
            assert "Traceback" not in log
            assert len(re.findall(r"loop collect failed", log)) == 1, log
            assert log.count("LND HTLC event stream lost") == 1, log

            # the node comes back while the collector's backoff is long: it resumes anyway
            sim.restart_face()
            _until(
                "the collector to resume",
                lambda: _collect_status(daemon)["consecutive_failures"] == 0,
                daemon,
            )
            log = daemon.log.read_text()
            assert len(re.findall(r"loop collect recovered", log)) == 1, log
            assert daemon.terminate() == 0
