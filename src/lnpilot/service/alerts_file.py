"""The alerts file: where it is, and its validation into the monitor's and notifier's configs.

``--alerts FILE`` (or ``[service] alerts_file``), else ``$LNPILOT_ALERTS``, else
``alerts.toml`` beside the configuration (or in the working directory); without one, the
shipped rules apply and nothing is notified. Its ``[notify]`` table goes to
:mod:`lnpilot.notify`, the rest to :mod:`lnpilot.monitor`; both halves are validated before
anything runs, with one line per problem naming the key and never showing a secret. The
daemon and the ``alerts`` commands read it the same way through this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lnpilot.base.tomlfile import (
    FileProblems,
    Loc,
    Wording,
    dotted,
    parse_toml,
    read_text,
    validate,
)
from lnpilot.monitor import MonitorConfig
from lnpilot.notify import NotifyConfig

ALERTS_ENV_VAR = "LNPILOT_ALERTS"
ALERTS_FILE_NAME = "alerts.toml"
_SECRET_HINTS = ("password", "token", "secret", "urls")


class AlertsFileError(FileProblems):
    """The alerts file cannot be used; ``problems`` holds one readable line per problem."""


def alerts_file_path(explicit: Path | None, config_file: Path | None) -> Path | None:
    """The alerts file to read, or None to use the shipped rules only."""
    from_env = os.environ.get(ALERTS_ENV_VAR)
    named = explicit or (Path(from_env) if from_env else None)
    if named is not None:
        if not named.is_file():
            raise AlertsFileError([f"alerts file {str(named)!r} does not exist"])
        return named
    beside = config_file.parent / ALERTS_FILE_NAME if config_file else Path(ALERTS_FILE_NAME)
    return beside if beside.is_file() else None


def load_alerts_file(path: Path | None) -> tuple[MonitorConfig, NotifyConfig]:
    """Read and validate an alerts file; raises :class:`AlertsFileError` listing every
    problem of both halves. Secret values are never shown in the messages."""
    data: dict[str, Any] = {}
    origin = str(path) if path else "alerts"
    if path is not None:
        data = parse_toml(read_text(path, AlertsFileError), origin, AlertsFileError)
        _anchor_files(data, path.parent)
    problems: list[str] = []
    notify_data = data.pop("notify", {})
    monitor = notify = None
    try:
        monitor = validate(MonitorConfig, data, origin, AlertsFileError, _WORDING)
    except AlertsFileError as exc:
        problems += exc.problems
    try:
        notify = validate(NotifyConfig, notify_data, origin, AlertsFileError, _NOTIFY_WORDING)
    except AlertsFileError as exc:
        problems += exc.problems
    if problems or monitor is None or notify is None:
        raise AlertsFileError(problems)
    return monitor, notify


def _anchor_files(values: dict[str, Any], base: Path) -> None:
    """Relative ``*_file`` paths are relative to the alerts file, wherever lnpilot runs."""
    for key, value in values.items():
        if isinstance(value, dict):
            _anchor_files(value, base)
        elif isinstance(value, str) and key.endswith("_file"):
            expanded = Path(value).expanduser()
            values[key] = str(expanded if expanded.is_absolute() else base / expanded)


def _secret(loc: Loc) -> bool:
    """Passwords, tokens and webhook URLs (which carry their token) are never shown."""
    key = dotted(loc)
    return any(hint in key for hint in _SECRET_HINTS)


def _notify_key(loc: Loc) -> str:
    return dotted(("notify", *loc))


_WORDING = Wording(secret=_secret)
_NOTIFY_WORDING = Wording(secret=_secret, key=_notify_key)
