"""Every command's summary in ``lnpilot --help`` reads as one sentence: the first paragraph
of its help is one line (the terminal wraps it; a hard break would show as a ragged line)."""

from __future__ import annotations

from typing import Any

import typer

from lnpilot.cli.main import app


def _commands(command: Any, path: str, ctx: Any) -> list[tuple[str, str]]:
    """The command and those under it (groups list theirs through ``list_commands``)."""
    found = [(path, command.help or "")]
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            found += _commands(sub, f"{path} {name}", ctx)
    return found


def test_every_command_summary_is_one_line() -> None:
    root = typer.main.get_command(app)
    commands = _commands(root, "lnpilot", root.context_class(root))
    assert len(commands) > 30
    ragged = [path for path, text in commands if "\n" in text.strip().split("\n\n")[0]]
    assert ragged == []
