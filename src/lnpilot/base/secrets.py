"""Secrets given as files: the ``*_file`` keys of ``lnpilot.toml`` and ``alerts.toml``.

A key such as ``admin_key_file`` or ``password_file`` names a file that holds the secret,
which keeps the secret out of the configuration file and out of the process environment.
The main configuration and the notifier's receivers both take such keys; the type lives
here, below both, so the notifier need not import the configuration (which builds the
node backends).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, SecretStr


def read_secret_file(value: object) -> object:
    """Replace a secret file's path by the secret it holds (surrounding whitespace dropped).

    Errors name the path, never the content; a non-path input is left for pydantic to reject.
    """
    if not isinstance(value, str | Path):
        return value
    path = Path(value).expanduser()
    try:
        content = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ValueError(f"cannot read secret file {str(path)!r}: {reason}") from None
    if not content:
        raise ValueError(f"secret file {str(path)!r} is empty")
    return content


SecretFromFile = Annotated[SecretStr, BeforeValidator(read_secret_file)]
"""A ``*_file`` key: given as a path, held as the secret read from that file."""
