"""Generate lnpilot's Grafana dashboards and provisioning files from one description.

The dashboards are data, written here once as panels and PromQL, so that every query is in
one place the metrics test can run against a real Prometheus (no panel empty or broken) and
the JSON files never drift from it. Run ``python scripts/grafana_dashboards.py`` after a
change; ``--check`` fails when the files in ``grafana/`` differ from what it would write.

Output: ``grafana/dashboards/lnpilot-*.json`` and ``grafana/provisioning/`` (a Prometheus
data source and a dashboard provider pointing at the dashboards folder). Loading them:
``docs/grafana.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent / "grafana"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
#: Per-channel panels follow the ``channel`` variable (all channels by default).
CH = 'channel=~"$channel"'
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Panel:
    """One panel: ``exprs`` maps each query to its legend."""

    title: str
    kind: str
    exprs: dict[str, str]
    unit: str = "short"
    description: str = ""
    width: int = 12
    height: int = 8
    options: dict[str, Any] = field(default_factory=dict)


def stat(title: str, expr: str, unit: str = "short", description: str = "") -> Panel:
    return Panel(title, "stat", {expr: title}, unit, description, width=4, height=4)


def series(title: str, exprs: dict[str, str], unit: str = "short", description: str = "") -> Panel:
    return Panel(title, "timeseries", exprs, unit, description)


def table(title: str, exprs: dict[str, str], description: str = "") -> Panel:
    options = {"showHeader": True}
    return Panel(title, "table", exprs, description=description, width=24, options=options)


PER_CHANNEL = "{{alias}} {{channel}}"


def rate(metric: str, direction: str | None = None) -> str:
    """Per-second rate of a per-channel counter, in one direction or both."""
    way = f',direction="{direction}"' if direction else ""
    return f"rate(lnpilot_channel_{metric}_total{{{CH}{way}}}[{RATE}])"


DASHBOARDS: dict[str, tuple[str, list[Panel]]] = {
    "overview": (
        "lnpilot: overview",
        [
            stat("Capacity", "lnpilot_node_capacity_sat", "sat"),
            stat("Local balance", "lnpilot_node_local_balance_sat", "sat"),
            stat("Remote balance", "lnpilot_node_remote_balance_sat", "sat"),
            stat("Active channels", 'lnpilot_node_channels{state="active"}'),
            stat(
                "Fees earned (range)",
                "increase(lnpilot_node_fees_earned_msat_total[$__range]) / 1000",
                "sat",
            ),
            stat("Firing alerts", 'sum(lnpilot_alerts{status="firing"})'),
            series(
                "Balances",
                {
                    "lnpilot_node_local_balance_sat": "local",
                    "lnpilot_node_remote_balance_sat": "remote",
                },
                "sat",
            ),
            series(
                "Forwards per hour",
                {
                    f"rate(lnpilot_node_forwards_total[{RATE}]) * 3600": "forwards",
                    f"rate(lnpilot_node_failed_forwards_total[{RATE}]) * 3600": "failed",
                },
            ),
            series(
                "Fees earned per hour",
                {f"rate(lnpilot_node_fees_earned_msat_total[{RATE}]) * 3.6": "sat/h"},
                "sat",
            ),
            series("Loops healthy", {"lnpilot_loop_up": "{{loop}}"}),
        ],
    ),
    "channels": (
        "lnpilot: channels",
        [
            table(
                "Channels",
                {
                    f"lnpilot_channel_capacity_sat{{{CH}}}": "capacity",
                    f"lnpilot_channel_local_ratio{{{CH}}}": "local ratio",
                    f'lnpilot_channel_fee_rate_ppm{{{CH},direction="local"}}': "fee ppm",
                    f"lnpilot_channel_active{{{CH}}}": "active",
                },
            ),
            series(
                "Local balance", {f"lnpilot_channel_local_balance_sat{{{CH}}}": PER_CHANNEL}, "sat"
            ),
            series(
                "Local ratio",
                {f"lnpilot_channel_local_ratio{{{CH}}}": PER_CHANNEL},
                "percentunit",
            ),
            series("Active", {f"lnpilot_channel_active{{{CH}}}": PER_CHANNEL}),
            series("Pending HTLCs", {f"lnpilot_channel_pending_htlcs{{{CH}}}": PER_CHANNEL}),
        ],
    ),
    "routing": (
        "lnpilot: routing and fees",
        [
            series(
                "Forwards out per hour",
                {f"{rate('forwards', 'out')} * 3600": PER_CHANNEL},
            ),
            series(
                "Volume out",
                {
                    f'rate(lnpilot_channel_forwarded_msat_total{{{CH},direction="out"}}[{RATE}])'
                    " / 1000": PER_CHANNEL
                },
                "sat",
                "Sat per second leaving through each channel",
            ),
            series(
                "Fees earned per hour",
                {
                    f'rate(lnpilot_channel_fees_msat_total{{{CH},direction="out"}}[{RATE}])'
                    " * 3.6": PER_CHANNEL
                },
                "sat",
            ),
            series(
                "Failed forwards per hour",
                {
                    f"sum by (channel, alias) "
                    f"(rate(lnpilot_channel_failed_forwards_total{{{CH}}}[{RATE}])) * 3600": (
                        PER_CHANNEL
                    )
                },
            ),
            series(
                "Our fee rate",
                {f'lnpilot_channel_fee_rate_ppm{{{CH},direction="local"}}': PER_CHANNEL},
                description="Outbound, as the collector last recorded it; steps are changes",
            ),
            series(
                "Peers' fee rate",
                {f'lnpilot_channel_fee_rate_ppm{{{CH},direction="remote"}}': PER_CHANNEL},
            ),
            series(
                "Our inbound fee rate",
                {f'lnpilot_channel_inbound_fee_rate_ppm{{{CH},direction="local"}}': PER_CHANNEL},
                description="Negative is a discount",
            ),
            series(
                "Fee engine: gossip budget",
                {
                    'lnpilot_fee_budget_updates{kind="used"}': "used",
                    'lnpilot_fee_budget_updates{kind="limit"}': "limit",
                },
                description="Policy updates sent in the 24 h before the last run, and the limit",
            ),
        ],
    ),
    "rebalancing": (
        "lnpilot: liquidity and rebalancing",
        [
            stat(
                "Channels short of outbound",
                "sum(lnpilot_channel_local_ratio < bool 0.2)",
                description="Local ratio under 20%",
            ),
            stat(
                "Channels short of inbound",
                "sum(lnpilot_channel_local_ratio > bool 0.8)",
                description="Local ratio over 80%",
            ),
            stat(
                "Local share of the node",
                "lnpilot_node_local_balance_sat / lnpilot_node_capacity_sat",
                "percentunit",
            ),
            series(
                "Local ratio",
                {f"lnpilot_channel_local_ratio{{{CH}}}": PER_CHANNEL},
                "percentunit",
            ),
            series(
                "Net outflow",
                {
                    f"({rate('forwarded_msat', 'out')} - ignoring(direction) "
                    f"{rate('forwarded_msat', 'in')}) * 3.6": PER_CHANNEL
                },
                "sat",
                "Sat per hour draining our side (negative: filling it)",
            ),
            stat(
                "Rebalancing fees (range)",
                "increase(lnpilot_rebalance_fees_msat_total[$__range]) / 1000",
                "sat",
            ),
            stat(
                "Liquidity moved (range)",
                "increase(lnpilot_rebalance_moved_msat_total[$__range]) / 1000",
                "sat",
            ),
            stat(
                "Budget room at the last run",
                "lnpilot_rebalance_budget_room_msat / 1000",
                "sat",
            ),
            series(
                "Rebalances per day, by outcome",
                {f"rate(lnpilot_rebalances_total[{RATE}]) * 86400": "{{outcome}}"},
            ),
            series(
                "Failed forwards, by the channel they were to leave through",
                {
                    f'rate(lnpilot_channel_failed_forwards_total{{{CH},direction="out"}}[{RATE}])'
                    " * 3600": PER_CHANNEL
                },
            ),
        ],
    ),
    "alerts": (
        "lnpilot: alerts and health",
        [
            stat("Firing", 'sum(lnpilot_alerts{status="firing"})'),
            stat("Pending", 'sum(lnpilot_alerts{status="pending"})'),
            stat("Open incidents", "sum(lnpilot_incidents)"),
            stat("Loops down", "count(lnpilot_loop_up == 0) or vector(0)"),
            series(
                "Alerts by severity",
                {'sum by (severity) (lnpilot_alerts{status="firing"})': "{{severity}}"},
            ),
            table(
                "Firing alerts",
                {"lnpilot_alert_firing": "{{rule}} {{channel}}"},
                "One row per firing alert; suppressed=1 when silenced or inhibited",
            ),
            series("Notifications", {"lnpilot_notifications": "{{state}}"}),
            series(
                "Seconds since each loop last succeeded",
                {"time() - lnpilot_loop_last_success_timestamp_seconds": "{{loop}}"},
                "s",
            ),
            series(
                "Loop failures per hour",
                {f"rate(lnpilot_loop_failures_total[{RATE}]) * 3600": "{{loop}}"},
            ),
            series(
                "LNbits latency (mean)",
                {
                    f"rate(lnpilot_lnbits_request_duration_seconds_sum[{RATE}])"
                    f" / rate(lnpilot_lnbits_request_duration_seconds_count[{RATE}])": (
                        "{{operation}}"
                    )
                },
                "s",
            ),
            series(
                "LNbits requests, retries and errors per minute",
                {
                    f"sum(rate(lnpilot_lnbits_request_duration_seconds_count[{RATE}])) * 60": (
                        "requests"
                    ),
                    f"sum(rate(lnpilot_lnbits_retries_total[{RATE}])) * 60": "retries",
                    f"sum(rate(lnpilot_lnbits_errors_total[{RATE}])) * 60": "errors",
                },
            ),
        ],
    ),
}


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    targets = [
        {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
        | ({"format": "table", "instant": True} if panel.kind == "table" else {})
        for i, (expr, legend) in enumerate(panel.exprs.items())
    ]
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": panel.width, "h": panel.height},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": panel.options,
        "targets": targets,
    }


def _layout(panels: list[Panel]) -> list[dict[str, Any]]:
    placed, x, y, row_height = [], 0, 0, 0
    for panel_id, panel in enumerate(panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        placed.append(_panel(panel, panel_id, x, y))
        x, row_height = x + panel.width, max(row_height, panel.height)
    return placed


def dashboard(key: str, title: str, panels: list[Panel]) -> dict[str, Any]:
    channel_var = {
        "name": "channel",
        "label": "Channel",
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": "label_values(lnpilot_channel_capacity_sat, channel)", "refId": "v"},
        "definition": "label_values(lnpilot_channel_capacity_sat, channel)",
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "refresh": 2,
    }
    datasource_var = {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
    }
    return {
        "uid": f"lnpilot-{key}",
        "title": title,
        "tags": ["lnpilot", "lightning"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": [datasource_var, channel_var]},
        "links": [
            {"type": "dashboards", "tags": ["lnpilot"], "asDropdown": True, "title": "lnpilot"}
        ],
        "panels": _layout(panels),
    }


PROVISIONING = {
    "provisioning/datasources/lnpilot.yaml": """\
# A Prometheus data source for the lnpilot dashboards; point url at your Prometheus.
apiVersion: 1
datasources:
  - name: Prometheus
    type: prometheus
    access: proxy
    url: http://localhost:9090
    isDefault: true
""",
    "provisioning/dashboards/lnpilot.yaml": """\
# Loads every dashboard in the folder below; copy grafana/dashboards there.
apiVersion: 1
providers:
  - name: lnpilot
    folder: lnpilot
    type: file
    disableDeletion: false
    allowUiUpdates: true
    options:
      path: /var/lib/grafana/dashboards/lnpilot
""",
}


def files() -> dict[str, str]:
    """Every generated file's path under ``grafana/`` and its content."""
    out = {
        f"dashboards/lnpilot-{key}.json": json.dumps(dashboard(key, title, panels), indent=2) + "\n"
        for key, (title, panels) in DASHBOARDS.items()
    }
    return out | PROVISIONING


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if grafana/ is stale")
    args = parser.parse_args()
    stale = []
    for name, content in files().items():
        path = ROOT / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != content:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)}; run python scripts/grafana_dashboards.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
