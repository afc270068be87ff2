"""``lnpilot init``: write a working configuration after checking each credential live.

Copying the example file and filling it in by hand failed in ways a new operator could not
read (a secrets file that did not exist yet, a login that was missing for the node API).
``init`` asks for (or takes as flags) the LNbits URL and keys and the optional LND
connection, tries every credential against the real server before writing anything, and
then writes ``lnpilot.toml`` (secrets in ``secrets/`` files, mode 600), ``fees.toml`` and
``alerts.toml`` with safe defaults: automation only plans (``*_apply = false``), fee moves
are small and rate-limited. It ends by saying what the configured backends can and cannot
do, and what would add the rest. Nothing is written when a check fails, and existing files
are kept unless ``--force``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.markup import escape

from lnpilot.base.domain import Capability
from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode
from lnpilot.config import ConfigError, LndSettings, Settings, load_settings
from lnpilot.fees.default import DEFAULT_POLICY_TOML
from lnpilot.lnbits import LNbitsClient, LNbitsError
from lnpilot.node.backend import DESCRIPTIONS, NodeBackend, NodeError, how_to_get
from lnpilot.node.lnbits_node import LNbitsNode
from lnpilot.node.lnd_rest import LndRest

#: The default fee policy (:mod:`lnpilot.fees.default`): only plans until ``fees_apply =
#: true``; ``lnpilot fees check`` explains it per channel.
FEES_TOML = DEFAULT_POLICY_TOML

#: The built-in alert rules as they are (an empty file keeps every default), with the one
#: thing an operator must choose: where notifications go. docs/alerts.md lists the rules.
ALERTS_TOML = """\
# lnpilot's alerts, written by `lnpilot init` (docs/alerts.md; examples/alerts.toml has more).
# Every built-in rule is on with its defaults. Add receivers to be notified (email,
# Telegram, webhook); until then alerts show in `lnpilot alerts`, the API and the dashboard.
"""


@dataclass
class _Answers:
    """What the operator gave, and what the checks found (one line per check)."""

    url: str
    invoice_key: str | None
    admin_key: str | None
    username: str | None
    password: str | None
    lnd_rest_url: str | None
    macaroon_file: Path | None
    tls_cert: Path | None
    #: (passed, line): a credential that works, or a note on what it cannot reach.
    found: list[tuple[bool, str]] = field(default_factory=list)

    def ok(self, line: str) -> None:
        self.found.append((True, line))

    def note(self, line: str) -> None:
        self.found.append((False, line))


def init(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write the files (default: here).")
    ] = Path(),
    lnbits_url: Annotated[
        str | None, typer.Option("--lnbits-url", help="The LNbits server, http(s)://host:port.")
    ] = None,
    invoice_key: Annotated[
        str | None, typer.Option("--invoice-key", help="Invoice key: read, receive, watch.")
    ] = None,
    admin_key: Annotated[
        str | None, typer.Option("--admin-key", help="Admin key: pay (optional).")
    ] = None,
    username: Annotated[
        str | None,
        typer.Option("--username", help="An LNbits admin's login: the node API (optional)."),
    ] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="That login's password.")
    ] = None,
    lnd_rest_url: Annotated[
        str | None,
        typer.Option("--lnd-rest-url", help="LND's REST address, https://host:8080 (optional)."),
    ] = None,
    macaroon_file: Annotated[
        Path | None, typer.Option("--macaroon-file", help="LND macaroon (binary or hex).")
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="LND's tls.cert.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that exist already.")
    ] = False,
) -> None:
    """Check the LNbits (and LND) credentials live and write lnpilot.toml, fees.toml, alerts.toml.

    Asks for what the flags do not give when run in a terminal. Nothing is written when a
    check fails. Secrets go to secrets/ files readable by you only.
    """
    ask = sys.stdin.isatty()
    url = lnbits_url or (
        typer.prompt("LNbits URL", default="http://127.0.0.1:5000") if ask else None
    )
    if not url:
        _refuse("give --lnbits-url (no terminal to ask in)")
    answers = _Answers(
        url=url,
        invoice_key=invoice_key or _ask_secret(ask, "Invoice key (empty: none)"),
        admin_key=admin_key or _ask_secret(ask, "Admin key (empty: none)"),
        username=username,
        password=password,
        lnd_rest_url=lnd_rest_url,
        macaroon_file=macaroon_file,
        tls_cert=tls_cert,
    )
    if ask and username is None and lnd_rest_url is None:
        answers.username = (
            typer.prompt("LNbits admin login for the node API (empty: none)", default="") or None
        )
    if answers.username and not answers.password:
        answers.password = _ask_secret(ask, f"Password of {answers.username}")
        if not answers.password:
            _refuse("--username needs --password")
    if not (answers.invoice_key or answers.admin_key or answers.username or lnd_rest_url):
        _refuse(
            "give at least one credential: --invoice-key, --admin-key, --username (LNbits) "
            "or --lnd-rest-url with --macaroon-file"
        )
    if (lnd_rest_url is None) != (macaroon_file is None):
        _refuse("--lnd-rest-url and --macaroon-file go together")

    targets = [directory / name for name in ("lnpilot.toml", "fees.toml", "alerts.toml")]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        _refuse(f"{', '.join(existing)} exist already; --force overwrites them")

    asyncio.run(_check(answers))
    for passed, line in answers.found:
        mark = "[green]ok[/green]" if passed else "[yellow]note[/yellow]"
        output.stdout.print(f"{mark} {escape(line)}", soft_wrap=True)
    config = _write(directory, answers)
    try:
        settings = load_settings(config)
    except ConfigError as exc:  # written, but the environment or a bug breaks it: say so
        output.error(f"init: wrote {config}, but it does not load: {exc}")
        raise typer.Exit(ExitCode.FAILED) from None
    output.stdout.print(f"Wrote {config}, {targets[1]}, {targets[2]} (automation: dry runs only).")
    _say_capabilities(settings)


def _ask_secret(ask: bool, prompt: str) -> str | None:
    if not ask:
        return None
    given: str = typer.prompt(prompt, default="", hide_input=True, show_default=False)
    return given or None


def _refuse(message: str, code: ExitCode = ExitCode.BAD_INPUT) -> NoReturn:
    output.error(f"init: {message}; nothing written")
    raise typer.Exit(code)


async def _check(answers: _Answers) -> None:
    """Try each credential on its own client, so a failure names the credential."""
    url = answers.url
    try:
        if answers.invoice_key:
            async with LNbitsClient(url, invoice_key=answers.invoice_key) as client:
                wallet = await client.wallet.get()
            answers.ok(f"invoice key: wallet {wallet.name}, {output.sat(wallet.balance_msat)}")
        if answers.admin_key:
            async with LNbitsClient(url, admin_key=answers.admin_key) as client:
                wallet = await client.wallet.get()
            if wallet.id is None:  # LNbits shows the wallet id to the admin key only
                _refuse("--admin-key is an invoice key (LNbits hid the wallet id from it)")
            answers.ok(f"admin key: wallet {wallet.name} (can pay)")
        if answers.username:
            async with LNbitsClient(
                url, username=answers.username, password=answers.password
            ) as client:
                user = await client.auth.me()
                if not (user.admin or user.super_user):
                    _refuse(f"{answers.username} is not an LNbits admin: the node API refuses it")
                answers.ok(
                    f"login {answers.username}: {'superuser' if user.super_user else 'admin'}"
                )
                try:
                    info = await LNbitsNode(client).get_info()
                    answers.ok(f"LNbits node API: node {info.alias or info.pubkey[:16]}")
                except (LNbitsError, NodeError) as exc:
                    answers.note(f"LNbits node API not usable here ({exc}); the login is kept")
    except LNbitsError as exc:
        _refuse(f"LNbits at {url}: {type(exc).__name__}: {exc}")
    if answers.lnd_rest_url and answers.macaroon_file:
        try:
            lnd = LndSettings(
                rest_url=answers.lnd_rest_url,
                macaroon_file=answers.macaroon_file,
                tls_cert=answers.tls_cert,
            )
        except ValidationError as exc:
            _refuse(f"LND: {exc.errors()[0]['msg']}")
        assert lnd.macaroon is not None
        try:
            async with LndRest(
                str(lnd.rest_url).rstrip("/"),
                lnd.macaroon.get_secret_value(),
                tls_cert=lnd.tls_cert,
            ) as node:
                info = await node.get_info()
        except NodeError as exc:
            _refuse(f"LND at {answers.lnd_rest_url}: {type(exc).__name__}: {exc}")
        answers.ok(f"LND: node {info.alias or info.pubkey[:16]}")


def _write(directory: Path, answers: _Answers) -> Path:
    """The three files; each secret in its own file under secrets/, mode 600."""
    secrets = directory / "secrets"
    lines = ["# Written by `lnpilot init`; docs/configuration.md explains every key.", ""]
    lines += [
        'data_dir = "data"',
        'log_level = "WARNING"',
        "",
        "[lnbits]",
        f"url = {_q(answers.url)}",
    ]
    for key, value in (
        ("invoice_key", answers.invoice_key),
        ("admin_key", answers.admin_key),
        ("password", answers.password),
    ):
        if value:
            secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
            _private(secrets / f"lnbits-{key.replace('_', '-')}", value + "\n")
            lines.append(f'{key}_file = "secrets/lnbits-{key.replace("_", "-")}"')
            if key == "password":
                lines.insert(-1, f"username = {_q(answers.username or '')}")
    if answers.lnd_rest_url and answers.macaroon_file:
        lines += ["", "[lnd]", f"rest_url = {_q(answers.lnd_rest_url)}"]
        lines.append(f"macaroon_file = {_q(str(answers.macaroon_file.resolve()))}")
        if answers.tls_cert:
            lines.append(f"tls_cert = {_q(str(answers.tls_cert.resolve()))}")
    lines += [
        "",
        "[service]",
        'fees_policy_file = "fees.toml"',
        'alerts_file = "alerts.toml"',
        "fees_apply = false        # plan and journal only; true lets the daemon set fees",
        "rebalance_apply = false   # plan and journal only; true lets it pay for rebalances",
        "",
        "[api]",
        'host = "127.0.0.1"',
        "port = 8181",
        "",
    ]
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "lnpilot.toml"
    _private(config, "\n".join(lines))
    (directory / "fees.toml").write_text(FEES_TOML, encoding="utf-8")
    (directory / "alerts.toml").write_text(ALERTS_TOML, encoding="utf-8")
    return config


def _private(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only, from the first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    path.chmod(0o600)


def _q(value: str) -> str:
    """A TOML basic string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _say_capabilities(settings: Settings) -> None:
    """What the configured node backends can do, and what would add the rest (from the
    backends' declared capabilities, in the order ``make_node`` prefers them)."""
    backends: list[type[NodeBackend]] = [LndRest] if settings.lnd is not None else []
    lnbits = settings.lnbits
    if lnbits.access_token is not None or (lnbits.username and lnbits.password is not None):
        backends.append(LNbitsNode)
    if not backends:
        output.stdout.print(
            "Node: none configured, so the wallet commands work and the node's (collect, "
            "fees, rebalance, the daemon) do not: give --username/--password of an LNbits "
            "admin, or --lnd-rest-url and --macaroon-file.",
            soft_wrap=True,
        )
        return
    can = frozenset[Capability]().union(*(b.capabilities for b in backends))
    names = ", ".join(b.name for b in backends)
    output.stdout.print(
        f"Node backends: {names}. They give: " + "; ".join(DESCRIPTIONS[c] for c in sorted(can)),
        soft_wrap=True,
    )
    by_hint: dict[str, list[str]] = {}
    for capability in sorted(set(Capability) - can):
        by_hint.setdefault(how_to_get(capability), []).append(DESCRIPTIONS[capability])
    for hint, what in by_hint.items():
        output.stdout.print(
            f"Not available without {escape(hint)}: {'; '.join(what)}", soft_wrap=True
        )
