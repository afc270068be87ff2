"""What every command that talks to LNbits shares: settings, the client, exit codes.

The client is async and a CLI command is one short-lived call, so each command runs its
work with :func:`asyncio.run` around one client that is closed when the work ends.
Errors the client raises are expected outcomes, not bugs: they become one red line (type
and message, already redacted by the client) and an exit code a script can branch on,
never a traceback.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, NoReturn, TypeVar

import typer
from rich.logging import RichHandler

from lnpilot.cli import output
from lnpilot.config import ConfigError, Settings, config_file_path, load_settings, make_client
from lnpilot.lnbits import (
    AuthenticationError,
    InvalidRequestError,
    InvoiceDecodeError,
    LNbitsClient,
    LNbitsError,
    MissingCredentialError,
    PaymentOutcomeUnknownError,
    PermissionDeniedError,
)

T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
"""The ``--json`` option every listing and show command takes."""


class ExitCode(enum.IntEnum):
    """What a script can rely on after any command."""

    OK = 0
    #: The operation failed (nothing was paid when the command was ``pay``).
    FAILED = 1
    #: Bad input or configuration: fix the command line, the config or the credentials.
    BAD_INPUT = 2
    #: A payment may or may not have happened; it was not retried. Look it up by hash.
    OUTCOME_UNKNOWN = 3


#: Client errors that mean "the input, the configuration or the credentials are wrong".
_BAD_INPUT_ERRORS = (
    MissingCredentialError,
    AuthenticationError,
    PermissionDeniedError,
    InvoiceDecodeError,
    InvalidRequestError,
)


@dataclass
class CliState:
    """Per-invocation state: the ``--config`` choice, settings loaded on first use only
    (commands like ``decode`` or ``demo`` must work without any configuration)."""

    config_file: Path | None
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_file)
            except ConfigError as exc:
                for problem in exc.problems:
                    output.error(f"config: {problem}")
                raise typer.Exit(ExitCode.BAD_INPUT) from None
            _configure_logging(self._settings)
        return self._settings


def state_of(ctx: typer.Context) -> CliState:
    """The state the root callback stored (see :mod:`lnpilot.cli.main`)."""
    state = ctx.find_root().obj
    assert isinstance(state, CliState), "lnpilot commands run under the lnpilot app"
    return state


def daemon_file(ctx: typer.Context, key: Literal["fees_policy_file", "alerts_file"]) -> Path | None:
    """The file the daemon reads for `key` (``[service]``), so a command without its own
    ``--policy``/``--alerts`` reads what ``lnpilot run`` reads.

    With a configuration file, its errors are reported (exit 2). With none, settings may
    still come from the environment alone; when they are incomplete (an offline policy
    check needs no LNbits), there is no daemon file to follow.
    """
    state = state_of(ctx)
    if config_file_path(state.config_file) is not None:
        settings = state.settings()
    else:
        try:
            settings = load_settings(None)
        except ConfigError:
            return None
    path: Path | None = getattr(settings.service, key)
    return path


def fail(exc: BaseException, code: ExitCode) -> NoReturn:
    output.error(f"{type(exc).__name__.rstrip('_')}: {exc}")
    raise typer.Exit(code)


def exit_code_for(exc: LNbitsError) -> ExitCode:
    if isinstance(exc, PaymentOutcomeUnknownError):
        return ExitCode.OUTCOME_UNKNOWN
    if isinstance(exc, _BAD_INPUT_ERRORS):
        return ExitCode.BAD_INPUT
    return ExitCode.FAILED


def run(ctx: typer.Context, work: Callable[[LNbitsClient], Awaitable[T]]) -> T:
    """Run ``work`` with a client built from the configuration; map client errors to exits."""
    settings = state_of(ctx).settings()

    async def main() -> T:
        async with make_client(settings) as client:
            return await work(client)

    try:
        return asyncio.run(main())
    except LNbitsError as exc:
        fail(exc, exit_code_for(exc))


def _configure_logging(settings: Settings) -> None:
    """Send lnpilot's own logs (already redacted by the client) to stderr at ``log_level``,
    and to the ``[logging] file`` when one is set (redacted there too)."""
    logger = logging.getLogger("lnpilot")
    logger.setLevel(settings.log_level)
    if not any(isinstance(h, RichHandler) for h in logger.handlers):
        logger.addHandler(
            RichHandler(
                console=output.stderr, show_path=False, log_time_format="[%Y-%m-%d %H:%M:%S]"
            )
        )
    file = settings.logging
    if file.file is not None:
        # Here, not at the top: the service package brings the daemon's whole composition.
        from lnpilot.service.logs import attach_file

        attach_file(logger, file.file, max_bytes=file.max_bytes, keep=file.keep, fmt=file.format)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d``: how durations are typed on every command."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise typer.BadParameter(f"{text!r}: give a number and s, m, h or d (e.g. 2h)")
    return timedelta(seconds=float(found[1]) * _UNITS[found[2]])
