"""An incident as a Markdown document: the written record of what happened and what was done.

It reads on its own, in a wiki or a ticket: summary, cause and resolution first (what a
later reader looks for), then the action plan by horizon with each action's outcome, then
the full timeline. Times are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lnpilot.monitor.causes import causes_of, not_checked_of
from lnpilot.store.alerts import Horizon, Incident, IncidentAction, TimelineEntry
from lnpilot.store.records import JsonValue

_HORIZON_TITLES = {
    Horizon.IMMEDIATE: "Immediate",
    Horizon.SHORT_TERM: "Short term",
    Horizon.LONG_TERM: "Long term",
}


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "-"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _evidence(value: JsonValue) -> str:
    """An evidence value in a line: lists (connection changes, routes) are counted; the
    API and the timeline keep them whole."""
    if isinstance(value, list):
        return f"{len(value)} entries"
    return _cell(str(value))


def _likely_causes(timeline: Sequence[TimelineEntry]) -> list[str]:
    """What changed around the opening, ranked (:mod:`lnpilot.monitor.causes`)."""
    not_checked = not_checked_of(timeline)
    if not_checked is None:
        return []
    lines = ["## Likely causes", ""]
    causes = causes_of(timeline)
    if not causes:
        lines.append("_Nothing that changed around the opening explains it in the store._")
    for n, cause in enumerate(causes, start=1):
        evidence = ", ".join(f"`{k}={_evidence(v)}`" for k, v in sorted(cause.evidence.items()))
        lines.append(
            f"{n}. {cause.summary} (score {cause.score:.2f}, {_when(cause.at)})"
            + (f": {evidence}" if evidence else "")
        )
    if not_checked:
        lines += ["", "Not checked: " + "; ".join(not_checked) + "."]
    return [*lines, ""]


def _alert_state(incident: Incident) -> str:
    if incident.alert_resolved_at is None:
        return "firing"
    return f"resolved {_when(incident.alert_resolved_at)}"


def incident_markdown(
    incident: Incident, timeline: Sequence[TimelineEntry], actions: Sequence[IncidentAction]
) -> str:
    lines = [
        f"# Incident {incident.id}: {incident.title}",
        "",
        "| | |",
        "|---|---|",
        f"| Status | {incident.status.value} |",
        f"| Severity | {incident.severity.value} |",
        f"| Rule | {incident.rule} |",
        f"| Opened | {_when(incident.opened_at)} |",
        f"| Acknowledged | {_when(incident.acknowledged_at)}"
        + (f" by {_cell(incident.acknowledged_by)}" if incident.acknowledged_by else "")
        + " |",
        f"| Alert | {_alert_state(incident)} |",
        f"| Resolved | {_when(incident.resolved_at)} |",
        "| Labels | "
        + ", ".join(f"`{k}={_cell(v)}`" for k, v in sorted(incident.labels.items()))
        + " |",
        "",
        "## Cause",
        "",
        incident.cause or "_Not documented yet._",
        "",
        "## Resolution",
        "",
        incident.resolution or "_Not documented yet._",
        "",
        *_likely_causes(timeline),
        "## Action plan",
    ]
    for horizon, title in _HORIZON_TITLES.items():
        lines += ["", f"### {title}", ""]
        planned = [a for a in actions if a.horizon is horizon]
        if not planned:
            lines.append("_None._")
        for action in planned:
            how = "automatable" if action.safe else "needs a person or an approval"
            outcome = f" — {action.result}" if action.result else ""
            lines.append(
                f"- [{'x' if action.state.value == 'done' else ' '}] #{action.id} "
                f"{action.description} (`{action.kind}`, {how}; **{action.state.value}**"
                f"{outcome})"
            )
    lines += ["", "## Timeline", "", "| Time (UTC) | Event | Details | By |", "|---|---|---|---|"]
    for entry in timeline:
        lines.append(
            f"| {_when(entry.at).removesuffix(' UTC')} | {entry.kind} | {_cell(entry.text)} "
            f"| {_cell(entry.author or '')} |"
        )
    return "\n".join(lines) + "\n"
