"""Leaving secrets out of the configuration and policy files a backup carries.

A backup travels (a synced folder, a USB disk), so by default it holds no key that spends,
logs in or signs: each such line is replaced by a comment saying what to set again after a
restore. The text is edited rather than re-serialised, so the operator's comments and
layout survive. What is a secret: lnpilot's own secret keys (LNbits keys, password, access
token, macaroon, notification passwords, bot tokens, webhook secrets, Apprise URLs) and any
key named like one (``*_key``, ``*_password``, ``*_token``, ``*_secret``). A ``*_file`` key
is a path, not a secret, and is kept: the file it names is not in the backup.

The result is parsed again and checked: a secret left where the line edit cannot reach it
(an inline table such as ``lnbits = {admin_key = "..."}``) fails the backup instead of
slipping through.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

#: Exact key names that hold secrets across lnpilot's files.
SECRET_NAMES = frozenset(
    {
        "invoice_key",
        "admin_key",
        "password",
        "access_token",
        "macaroon",
        "bot_token",
        "secret",
        "urls",
        "token",
    }
)
_SECRET_SUFFIXES = ("_key", "_password", "_token", "_secret")
_ASSIGNMENT = re.compile(r"""^\s*(?P<key>[A-Za-z0-9_.\-"' ]+?)\s*=\s*(?P<value>.*)$""")
_HEADER = re.compile(r"^\s*\[\[?\s*(?P<name>[^\]]+?)\s*\]\]?\s*(#.*)?$")


class SecretsLeft(ValueError):
    """A secret could not be removed by editing lines."""


def is_secret_key(name: str) -> bool:
    name = name.strip().strip("\"'").lower()
    if name.endswith("_file"):
        return False
    return name in SECRET_NAMES or name.endswith(_SECRET_SUFFIXES)


def strip_secrets(text: str, file_name: str) -> tuple[str, list[str]]:
    """`text` without its secret lines, and the dotted keys removed (for the manifest)."""
    out: list[str] = []
    removed: list[str] = []
    table = ""
    lines = iter(text.splitlines())
    for line in lines:
        header = _HEADER.match(line)
        if header is not None and not line.lstrip().startswith("#"):
            table = header["name"].replace('"', "").replace("'", "")
            out.append(line)
            continue
        found = _ASSIGNMENT.match(line)
        if found is None or line.lstrip().startswith("#"):
            out.append(line)
            continue
        key_path = [part.strip().strip("\"'") for part in found["key"].split(".")]
        if not is_secret_key(key_path[-1]):
            out.append(line)
            continue
        _skip_continuation(found["value"], lines)
        dotted = ".".join([table, *key_path] if table else key_path)
        removed.append(dotted)
        out.append(f"# {found['key'].strip()}: removed by lnpilot backup (a secret); set it again")
    result = "\n".join(out) + ("\n" if text.endswith("\n") else "")
    left = _secret_keys(tomllib.loads(result))
    if left:
        raise SecretsLeft(
            f"{file_name}: cannot leave out the secret(s) {', '.join(left)} (written as an "
            "inline table?); write them as plain `key = value` lines, or use --include-secrets"
        )
    return result, removed


def _skip_continuation(value: str, lines: Any) -> None:
    """Consume the lines a multi-line value (array, triple-quoted string) goes on over."""
    stripped = value.strip()
    for quote in ('"""', "'''"):
        if stripped.startswith(quote) and stripped.count(quote) < 2:
            for more in lines:
                if quote in more:
                    return
            return
    depth = stripped.count("[") - stripped.count("]")
    while depth > 0:
        more = next(lines, None)
        if more is None:
            return
        depth += more.count("[") - more.count("]")


def _secret_keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    found = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if is_secret_key(key):
            found.append(path)
        elif isinstance(value, dict):
            found += _secret_keys(value, f"{path}.")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    found += _secret_keys(item, f"{path}[{i}].")
    return found
