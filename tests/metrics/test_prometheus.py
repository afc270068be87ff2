"""A real Prometheus scrapes ``lnpilot run``: the series are there with the node's values,
every Grafana panel's query returns data, and no secret reaches a series."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx

from .conftest import Stack

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
#: What Grafana puts in place of its variables when a panel is drawn over the last hour.
GRAFANA_VARIABLES = {"$__rate_interval": "30s", "$__range": "1h", "$channel": ".*"}


def wait_for(stack: Stack, expr: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not stack.prometheus.query(expr):
        assert time.monotonic() < deadline, f"no {expr} in Prometheus"
        time.sleep(0.5)


def test_prometheus_scrapes_the_node_and_channel_series(stack: Stack) -> None:
    prom = stack.prometheus
    wait_for(stack, 'up{job="lnpilot"} == 1')
    wait_for(stack, "lnpilot_node_capacity_sat")
    assert prom.value("lnpilot_node_capacity_sat") == 6_000_000
    assert prom.value('lnpilot_node_channels{state="active"}') == 6
    assert prom.value("lnpilot_node_forwards_total") == 20
    channels = prom.query("lnpilot_channel_local_ratio")
    assert {s["metric"]["channel"] for s in channels} == {f"800000x{n}x0" for n in range(1, 7)}
    # a forward enters through one channel and leaves through another: in == out == 20
    assert prom.value('sum(lnpilot_channel_forwards_total{direction="in"})') == 20
    assert prom.value('sum(lnpilot_channel_forwards_total{direction="out"})') == 20
    earned = prom.value("lnpilot_node_fees_earned_msat_total")
    assert earned == prom.value('sum(lnpilot_channel_fees_msat_total{direction="out"})') > 0


def test_loops_alerts_and_the_lnbits_client_are_visible(stack: Stack) -> None:
    prom = stack.prometheus
    wait_for(stack, "lnpilot_loop_up")
    loops = {s["metric"]["loop"]: float(s["value"][1]) for s in prom.query("lnpilot_loop_up")}
    assert loops == {
        "collect": 1,
        "retention": 1,
        "monitor": 1,
        "notify": 1,
        "fees": 1,
        "rebalance": 1,
        "scb": 1,
        "backup": 1,
        "swaps": 1,
    }
    wait_for(stack, 'lnpilot_alerts{status="firing",severity="warning"} == 6')
    firing = prom.query("lnpilot_alert_firing")
    assert {s["metric"]["rule"] for s in firing} == {"liquidity_out_of_band"}
    # the monitor probes LNbits' node API: the client's requests are counted per operation
    wait_for(stack, "lnpilot_lnbits_request_duration_seconds_count > 0")
    operations = {
        s["metric"]["operation"]
        for s in prom.query("lnpilot_lnbits_request_duration_seconds_count")
    }
    assert "GET /node/api/v1/info" in operations, operations


def test_every_grafana_panel_query_returns_data(stack: Stack) -> None:
    # new forwards between scrapes, so rates have something to say
    stack.sim.traffic(6, every=timedelta(seconds=1))
    wait_for(stack, "increase(lnpilot_node_forwards_total[1m]) > 0")
    checked, empty = 0, []
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for variable, value in GRAFANA_VARIABLES.items():
                    expr = expr.replace(variable, value)
                assert "$" not in expr, f"{path.name} {panel['title']}: {expr}"
                if not stack.prometheus.query(expr):  # also fails on a query error
                    empty.append(f"{path.name}: {panel['title']}: {expr}")
                checked += 1
    assert not empty, "\n".join(empty)
    assert checked >= 40


def test_the_dashboards_are_generated_from_the_script() -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "grafana_dashboards.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_no_secret_in_metrics_or_the_daemon_log(stack: Stack) -> None:
    daemon = stack.daemon
    text = httpx.get(f"{daemon.url}/metrics", headers=daemon.auth()).text
    secrets = [stack.lnbits.superuser.password, daemon.read_token, daemon.admin_token]
    secrets.append(daemon.config.read_text().split('macaroon = "')[1].split('"')[0])
    for secret in secrets:
        assert secret not in text
        assert secret not in daemon.log.read_text()
    assert httpx.get(f"{daemon.url}/metrics").status_code == 401
