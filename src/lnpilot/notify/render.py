"""How a notice reads in each medium.

- Email: a subject that sorts and filters well (status, severity, rule, count) and a plain
  text body: every mail client shows it the same, and it quotes well in replies.
- Telegram: short HTML (the Bot API's ``parse_mode=HTML``), one emoji of status, bold rule
  names, escaped text, cut to the API's 4096 characters with "and N more".
- Webhook: JSON shaped like Alertmanager's webhook payload (``status``, ``groupLabels``,
  ``commonLabels``, ``alerts[]`` with ``labels``/``annotations``/``startsAt``/``endsAt``),
  so receivers written for Alertmanager mostly work, plus lnpilot's incident ids.
- Apprise: a title and the plain text body.

Pubkeys are long: text shows the first 16 hex digits, JSON keeps them whole.

A notice that carries a file (a sealed channel backup) reads as its file's title and text;
email attaches the file, the webhook's JSON has it base64-encoded under ``file``, Telegram
and Apprise say only that it exists (they send text).
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from lnpilot.store.outbox import Notice, NoticeAlert

#: Telegram's limit on one message's text, after entity parsing.
TELEGRAM_MAX_CHARS = 4096
_ICONS = {"firing": "🔥", "resolved": "✅"}
_SEVERITY_ICONS = {"critical": "🔴", "warning": "🟠", "info": "🔵"}
_SHORTENED = ("node", "peer")


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


def _rules(notice: Notice) -> str:
    return ", ".join(sorted({a.rule for a in notice.alerts})) or "test"


def _labels_text(alert: NoticeAlert) -> str:
    shown = {k: v for k, v in alert.labels.items() if k not in ("alertname", "severity")}
    return " ".join(f"{k}={v[:16] if k in _SHORTENED else v}" for k, v in sorted(shown.items()))


def subject(notice: Notice, prefix: str = "[lnpilot]") -> str:
    firing, resolved = len(notice.firing), len(notice.resolved)
    if notice.file is not None:
        return f"{prefix} {notice.file.title}"
    if notice.test:
        return f"{prefix} test notification"
    if firing:
        extra = f", {resolved} resolved" if resolved else ""
        return f"{prefix} FIRING {notice.severity.value}: {_rules(notice)} ({firing}{extra})"
    return f"{prefix} RESOLVED: {_rules(notice)} ({resolved})"


def text(notice: Notice) -> str:
    """The plain text body (email, Apprise)."""
    if notice.file is not None:
        return notice.file.text.rstrip("\n") + "\n"
    if notice.test:
        return "This is a test notification from lnpilot: this route and receiver work.\n"
    lines: list[str] = []
    for title, alerts in (("FIRING", notice.firing), ("RESOLVED", notice.resolved)):
        if not alerts:
            continue
        lines += [f"{title} ({len(alerts)})", ""]
        for alert in alerts:
            lines.append(f"[{alert.severity.value}] {alert.rule}: {alert.summary}")
            period = f"since {_when(alert.starts_at)}"
            if alert.ends_at is not None:
                period = f"{_when(alert.starts_at)} to {_when(alert.ends_at)}"
            lines.append(f"    {period}; {_labels_text(alert)}")
        lines.append("")
    for incident_id in notice.incident_ids:
        lines.append(f"Incident #{incident_id}: lnpilot incident {incident_id}")
    lines.append("lnpilot alerts  lists what fires now; silence with  lnpilot alerts silence add")
    return "\n".join(lines) + "\n"


def telegram_html(notice: Notice) -> str:
    """The Telegram message, within :data:`TELEGRAM_MAX_CHARS`."""
    if notice.file is not None:
        return (
            f"📎 <b>{html.escape(notice.file.title)}</b>\n"
            f"{html.escape(notice.file.text)[: TELEGRAM_MAX_CHARS // 2]}\n"
            "<i>The file goes to email and webhook receivers only.</i>"
        )
    if notice.test:
        return "🧪 <b>lnpilot test notification</b>: this route and receiver work."
    esc = html.escape
    head = f"{_ICONS[notice.status]} <b>{notice.status.upper()}</b> {esc(_rules(notice))}"
    blocks = []
    for alert in (*notice.firing, *notice.resolved):
        icon = _ICONS["resolved"] if alert.status == "resolved" else ""
        icon = icon or _SEVERITY_ICONS.get(alert.severity.value, "")
        blocks.append(
            f"{icon} <b>{esc(alert.rule)}</b>: {esc(alert.summary)}\n"
            f"<i>{esc(_labels_text(alert))}</i>"
        )
    tail = "".join(
        f"\nIncident #{i}: <code>lnpilot incident {i}</code>" for i in notice.incident_ids
    )
    message = head
    for count, block in enumerate(blocks):
        more = f"\n\n… and {len(blocks) - count} more"
        if len(message) + len(block) + len(tail) + len(more) + 2 > TELEGRAM_MAX_CHARS:
            message += more
            break
        message += "\n\n" + block
    return message + ("\n" + tail if tail else "")


def webhook_payload(notice: Notice, delivery_id: str) -> dict[str, Any]:
    if notice.file is not None:
        return {
            "version": "1",
            "source": "lnpilot",
            "deliveryId": delivery_id,
            "status": notice.status,
            "groupKey": notice.group_key,
            "groupLabels": notice.group_labels,
            "createdAt": notice.created_at.isoformat(),
            "file": notice.file.to_json(),
        }
    return {
        "version": "1",
        "source": "lnpilot",
        "deliveryId": delivery_id,
        "test": notice.test,
        "status": notice.status,
        "severity": notice.severity.value,
        "groupKey": notice.group_key,
        "groupLabels": notice.group_labels,
        "commonLabels": notice.common_labels,
        "incidentIds": list(notice.incident_ids),
        "createdAt": notice.created_at.isoformat(),
        "alerts": [
            {
                "status": a.status,
                "labels": a.labels,
                "annotations": {"summary": a.summary},
                "startsAt": a.starts_at.isoformat(),
                "endsAt": a.ends_at.isoformat() if a.ends_at else None,
                "fingerprint": a.fingerprint,
                "value": a.value,
            }
            for a in notice.alerts
        ],
    }
