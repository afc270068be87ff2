"""``lnpilot alerts``, ``incidents``, ``incident ID`` and ``notify``: the alert engine's face.

These commands read and write the store (alerts, silences, incidents, the outbox); only
``notify test`` talks to the outside. The store is the one in the configuration's data
directory unless ``--db`` names another. The rules and receivers come from the alerts file:
``--alerts FILE``, else the daemon's ``[service] alerts_file``, else ``$LNPILOT_ALERTS``,
else ``alerts.toml`` beside the configuration (or in the working directory); without one,
the shipped rules apply and nothing is notified. Its ``[notify]`` table goes to
:mod:`lnpilot.notify`, the rest to :mod:`lnpilot.monitor`; both are validated before
anything runs, with one line per problem naming the key.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from lnpilot.cli import output, runtime
from lnpilot.cli.runtime import ExitCode, JsonFlag, daemon_file, state_of
from lnpilot.config import config_file_path
from lnpilot.monitor import IncidentError, MonitorConfig, acknowledge, annotate, decide, resolve
from lnpilot.monitor import incident_markdown as render_markdown
from lnpilot.notify import Notifier, NotifyConfig
from lnpilot.service.alerts_file import (
    ALERTS_ENV_VAR,
    AlertsFileError,
    alerts_file_path,
    load_alerts_file,
)
from lnpilot.store import Store, sqlite_url
from lnpilot.store.alerts import (
    ActionState,
    Alert,
    Incident,
    IncidentStatus,
    Matcher,
    Silence,
    monitor_book,
)
from lnpilot.store.outbox import DeliveryState

T = TypeVar("T")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: the data directory's SQLite file)."),
]
AlertsOption = Annotated[
    Path | None,
    typer.Option(
        "--alerts",
        help=f"Alerts file (default: [service] alerts_file, else ${ALERTS_ENV_VAR}, "
        "else alerts.toml).",
    ),
]
ByOption = Annotated[str, typer.Option("--by", help="Who does this (for the timeline).")]


# -- plumbing ---------------------------------------------------------------------------------


def _store_url(ctx: typer.Context, db: str | None) -> str:
    if db:
        return db
    return sqlite_url(state_of(ctx).settings().data_dir)


def _with_store(ctx: typer.Context, db: str | None, work: Callable[[Store], Awaitable[T]]) -> T:
    url = _store_url(ctx, db)

    async def main() -> T:
        async with await Store.open(url) as store:
            return await work(store)

    try:
        return asyncio.run(main())
    except IncidentError as exc:
        output.error(str(exc))
        raise typer.Exit(ExitCode.BAD_INPUT) from None


def _configs(ctx: typer.Context, alerts: Path | None) -> tuple[MonitorConfig, NotifyConfig]:
    try:
        config_file = config_file_path(state_of(ctx).config_file)
        named = alerts or daemon_file(ctx, "alerts_file")
        return load_alerts_file(alerts_file_path(named, config_file))
    except AlertsFileError as exc:
        for problem in exc.problems:
            output.error(f"alerts: {problem}")
        raise typer.Exit(ExitCode.BAD_INPUT) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _short(labels: dict[str, str]) -> str:
    skip = {"alertname", "severity", "node", "scope"}
    return " ".join(
        f"{k}={v[:16] if k == 'peer' else v}" for k, v in sorted(labels.items()) if k not in skip
    )


_SEVERITY_STYLE = {"critical": "red", "warning": "yellow", "info": "blue"}


def _severity(value: str) -> str:
    style = _SEVERITY_STYLE.get(value, "")
    return f"[{style}]{value}[/{style}]" if style else value


# -- alerts -----------------------------------------------------------------------------------

alerts_app = typer.Typer(help="Alerts: what fires now, and silences.", no_args_is_help=False)
silence_app = typer.Typer(help="Silence alerts for a while.", no_args_is_help=True)
alerts_app.add_typer(silence_app, name="silence")


@alerts_app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include resolved alerts.")] = False,
    as_json: JsonFlag = False,
    db: DbOption = None,
) -> None:
    """Pending and firing alerts (with --all, resolved ones too), newest first."""
    if ctx.invoked_subcommand is not None:
        return

    async def work(store: Store) -> list[Alert]:
        async with monitor_book(store) as book:
            return await book.list_alerts(include_resolved=show_all)

    found = _with_store(ctx, db, work)
    if as_json:
        output.emit_model(list[Alert], found)
        return
    table = output.table(
        "Alerts", "id", "status", "severity", "rule", "summary", "since (UTC)", "note"
    )
    for a in found:
        table.add_row(
            str(a.id),
            a.status.value,
            _severity(a.severity.value),
            a.rule,
            escape(a.summary),
            output.when(a.fired_at or a.active_since, zone=False),
            escape(a.suppressed or ""),
        )
    output.stdout.print(table if found else "No alerts.")


@alerts_app.command("rules")
def rules(ctx: typer.Context, alerts: AlertsOption = None, as_json: JsonFlag = False) -> None:
    """Validate the alerts file and show the rules in force."""
    monitor, notify = _configs(ctx, alerts)
    if as_json:
        output.emit_json(
            {name: rule.model_dump(mode="json") for name, rule in monitor.rules.items()}
        )
        return
    table = output.table("Rules", "name", "kind", "on", "severity", "for", "settings")
    common = {"kind", "enabled", "severity", "for_s", "labels", "overrides"}
    for name, rule in monitor.rules.items():
        settings = {k: v for k, v in rule.model_dump(mode="json").items() if k not in common}
        extra = f" (+{len(rule.overrides)} overrides)" if rule.overrides else ""
        table.add_row(
            name,
            rule.kind.value,
            "yes" if rule.enabled else "no",
            _severity(rule.severity.value),
            f"{rule.for_s:g}s",
            " ".join(f"{k}={v}" for k, v in settings.items()) + extra,
        )
    output.stdout.print(table)
    output.stdout.print(f"{len(notify.receivers)} receivers, {len(notify.routes)} routes")


@silence_app.command("add")
def silence_add(
    ctx: typer.Context,
    matchers: Annotated[
        list[str], typer.Argument(help="Label matchers: name=value, name!=value, =~, !~.")
    ],
    duration: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d.")] = "2h",
    comment: Annotated[str, typer.Option("--comment", "-m", help="Why.")] = "",
    by: ByOption = "cli",
    as_json: JsonFlag = False,
    db: DbOption = None,
) -> None:
    """Silence the alerts every matcher matches, from now on for --for."""
    try:
        parsed = [Matcher.parse(m) for m in matchers]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    length = runtime.parse_duration(duration)

    async def work(store: Store) -> Silence:
        now = _now()
        async with monitor_book(store, write=True) as book:
            return await book.add_silence(parsed, now, now + length, created_by=by, comment=comment)

    silence = _with_store(ctx, db, work)
    if as_json:
        output.emit_model(Silence, silence)
    else:
        output.stdout.print(f"Silence {silence.id} until {output.when(silence.ends_at)}.")


@silence_app.command("list")
def silence_list(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include expired ones.")] = False,
    as_json: JsonFlag = False,
    db: DbOption = None,
) -> None:
    """Silences in force (with --all, expired ones too)."""

    async def work(store: Store) -> list[Silence]:
        async with monitor_book(store) as book:
            return await book.silences(active_at=None if show_all else _now())

    found = _with_store(ctx, db, work)
    if as_json:
        output.emit_model(list[Silence], found)
        return
    table = output.table("Silences", "id", "matchers", "ends (UTC)", "by", "comment")
    for s in found:
        table.add_row(
            str(s.id),
            escape(" ".join(str(m) for m in s.matchers)),
            output.when(s.ends_at, zone=False),
            escape(s.created_by),
            escape(s.comment),
        )
    output.stdout.print(table if found else "No silences.")


@silence_app.command("expire")
def silence_expire(
    ctx: typer.Context,
    silence_id: Annotated[int, typer.Argument(help="The silence to end now.")],
    db: DbOption = None,
) -> None:
    """End a silence now."""

    async def work(store: Store) -> bool:
        async with monitor_book(store, write=True) as book:
            return await book.expire_silence(silence_id, _now())

    if not _with_store(ctx, db, work):
        output.error(f"no silence {silence_id} in force")
        raise typer.Exit(ExitCode.FAILED)
    output.stdout.print(f"Silence {silence_id} expired.")


# -- incidents --------------------------------------------------------------------------------

incidents_app = typer.Typer(help="Incidents opened by grave alerts.", no_args_is_help=False)


@incidents_app.callback(invoke_without_command=True)
def incidents(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include resolved incidents.")] = False,
    as_json: JsonFlag = False,
    db: DbOption = None,
) -> None:
    """Open and acknowledged incidents (with --all, resolved ones too), newest first."""
    if ctx.invoked_subcommand is not None:
        return

    async def work(store: Store) -> list[Incident]:
        async with monitor_book(store) as book:
            return await book.incidents(include_resolved=show_all)

    found = _with_store(ctx, db, work)
    if as_json:
        output.emit_model(list[Incident], found)
        return
    table = output.table("Incidents", "id", "status", "severity", "opened (UTC)", "title")
    for i in found:
        alert_over = i.alert_resolved_at is not None and i.status is not IncidentStatus.RESOLVED
        table.add_row(
            str(i.id),
            i.status.value + (" (alert resolved)" if alert_over else ""),
            _severity(i.severity.value),
            output.when(i.opened_at, zone=False),
            escape(i.title),
        )
    output.stdout.print(table if found else "No incidents.")


async def _markdown(store: Store, incident_id: int) -> str:
    async with monitor_book(store) as book:
        incident = await book.incident(incident_id)
        if incident is None:
            raise IncidentError(f"no incident {incident_id}")
        return render_markdown(
            incident, await book.timeline(incident_id), await book.actions(incident_id)
        )


def _write_markdown(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    output.stdout.print(f"Wrote {out}.")


OutOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
]


@incidents_app.command("export")
def incidents_export(
    ctx: typer.Context,
    incident_id: Annotated[int, typer.Argument(help="The incident.")],
    out: OutOption = None,
    db: DbOption = None,
) -> None:
    """Write an incident as Markdown: summary, cause, resolution, plan and timeline."""
    _write_markdown(_with_store(ctx, db, lambda s: _markdown(s, incident_id)), out)


class Verb(enum.StrEnum):
    SHOW = "show"
    ACK = "ack"
    ANNOTATE = "annotate"
    RESOLVE = "resolve"
    EXPORT = "export"
    APPROVE = "approve"
    REJECT = "reject"
    DONE = "done"


_VERDICTS = {
    Verb.APPROVE: ActionState.APPROVED,
    Verb.REJECT: ActionState.REJECTED,
    Verb.DONE: ActionState.DONE,
}


def incident(
    ctx: typer.Context,
    incident_id: Annotated[int, typer.Argument(help="The incident.")],
    verb: Annotated[Verb, typer.Argument(help="What to do.")] = Verb.SHOW,
    note: Annotated[str | None, typer.Option("--note", "-m", help="Note text.")] = None,
    cause: Annotated[str | None, typer.Option("--cause", help="What caused it.")] = None,
    resolution: Annotated[str | None, typer.Option("--resolution", help="What fixed it.")] = None,
    action: Annotated[
        int | None, typer.Option("--action", help="Action id (approve/reject/done).")
    ] = None,
    by: ByOption = "cli",
    out: OutOption = None,
    db: DbOption = None,
) -> None:
    """Show, ack, annotate, resolve or export an incident, or act on one of its actions.

    An action of the incident's plan can be approved, rejected or marked done."""

    async def work(store: Store) -> str:
        now = _now()
        if verb is Verb.ACK:
            await acknowledge(store, incident_id, by, now)
        elif verb is Verb.ANNOTATE:
            if not note:
                raise IncidentError("annotate needs --note")
            await annotate(store, incident_id, note, by, now)
        elif verb is Verb.RESOLVE:
            await resolve(
                store, incident_id, cause=cause or "", resolution=resolution or "", by=by, now=now
            )
        elif verb in _VERDICTS:
            if action is None:
                raise IncidentError(f"{verb.value} needs --action ID")
            await decide(store, incident_id, action, _VERDICTS[verb], by, now)
        return await _markdown(store, incident_id)

    text = _with_store(ctx, db, work)
    if verb in (Verb.SHOW, Verb.EXPORT):
        _write_markdown(text, out)
    else:
        output.stdout.print(f"Incident {incident_id}: {verb.value} done.")


# -- notify -----------------------------------------------------------------------------------

notify_app = typer.Typer(help="Notification receivers and the outbox.", no_args_is_help=True)


@notify_app.command("test")
def notify_test(
    ctx: typer.Context,
    route: Annotated[str | None, typer.Option("--route", help="Only this route.")] = None,
    alerts: AlertsOption = None,
    db: DbOption = None,
) -> None:
    """Send a test notification to every receiver of a route (or of all routes)."""
    _, notify = _configs(ctx, alerts)
    if not notify.receivers:
        output.error("no receivers configured: add [notify.receivers.NAME] to the alerts file")
        raise typer.Exit(ExitCode.BAD_INPUT)

    async def work(store: Store) -> dict[str, str | None]:
        async with Notifier(store, notify) as notifier:
            try:
                return await notifier.send_test(route)
            except ValueError as exc:
                raise IncidentError(str(exc)) from None

    results = _with_store(ctx, db, work)
    for name, error in results.items():
        if error is None:
            output.stdout.print(f"[green]ok[/green]     {escape(name)}")
        else:
            output.stdout.print(f"[red]failed[/red] {escape(name)}: {escape(error)}")
    if any(error is not None for error in results.values()):
        raise typer.Exit(ExitCode.FAILED)


@notify_app.command("outbox")
def notify_outbox(ctx: typer.Context, as_json: JsonFlag = False, db: DbOption = None) -> None:
    """Deliveries not done yet, with their last error, and counts by state."""

    async def work(store: Store) -> tuple[dict[str, int], list[dict[str, Any]]]:
        async with monitor_book(store) as book:
            counts = await book.outbox.counts()
            waiting = await book.outbox.deliveries(
                states=[DeliveryState.PENDING, DeliveryState.SENDING]
            )
        return counts, [
            {
                "id": d.id,
                "route": d.route,
                "receiver": d.receiver,
                "state": d.state.value,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at.isoformat(),
                "last_error": d.last_error,
            }
            for d in waiting
        ]

    counts, waiting = _with_store(ctx, db, work)
    if as_json:
        output.emit_json({"counts": counts, "undelivered": waiting})
        return
    output.stdout.print(" ".join(f"{k}={v}" for k, v in counts.items()))
    table = output.table(
        "Undelivered", "id", "route", "receiver", "attempts", "next (UTC)", "error"
    )
    for d in waiting:
        table.add_row(
            str(d["id"]),
            escape(d["route"]),
            escape(d["receiver"]),
            str(d["attempts"]),
            d["next_attempt_at"][:19].replace("T", " "),
            escape(d["last_error"] or ""),
        )
    if waiting:
        output.stdout.print(table)
