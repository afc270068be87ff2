"""Commands whose module is imported only when the command runs (or shows its own help).

Typer builds a command from its function's signature, so registering a command means
importing its module, and the modules behind ``collect``, ``fees`` or ``run`` pull in
SQLAlchemy, Alembic, FastAPI and numpy: about two seconds of CPU that ``lnpilot --help`` or
``lnpilot wallet show`` would pay for nothing. :class:`LazyGroup` holds, for each such
command, where it lives and the one line ``lnpilot --help`` shows for it, and imports the
module when the command is resolved. The line is a copy of the command's own help, so
``tests/cli/test_start.py`` compares every entry with the command it names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
import typer.main

# Typer carries its own copy of click (the separate click package is not what it runs on),
# so the group's types are typer's.
from typer import _click as click
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """One top-level command or group: ``target`` is ``module:attribute``, where the
    attribute is a :class:`typer.Typer` (a group) or a command function."""

    name: str
    target: str
    help: str

    def load(self) -> click.Command:
        """Import the module and build the click command, named as listed."""
        module_name, _, attribute = self.target.partition(":")
        found = getattr(importlib.import_module(module_name), attribute)
        if isinstance(found, typer.Typer):
            command: click.Command = typer.main.get_group(found)
        else:
            single = typer.Typer(add_completion=False)  # as the app: no completion options
            single.command(self.name)(found)
            command = typer.main.get_command(single)
        command.name = self.name
        return command


class LazyGroup(TyperGroup):
    """The top-level group: eager commands as Typer registers them, plus :data:`LAZY`.

    While the group's own help is drawn, a lazy command is a stand-in carrying its listed
    line; anywhere else (running it, ``lnpilot CMD --help``) it is the real command.
    """

    lazy: tuple[Lazy, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = super().list_commands(ctx)
        return eager + [entry.name for entry in self.lazy if entry.name not in eager]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = next((e for e in self.lazy if e.name == cmd_name), None)
        if entry is None:
            return None
        if self._listing:
            return TyperCommand(entry.name, help=entry.help)
        command = self.commands[cmd_name] = entry.load()
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def lazy_group(*entries: Lazy) -> type[LazyGroup]:
    """A :class:`LazyGroup` class with these entries, for ``typer.Typer(cls=...)``."""
    return type("LnpilotGroup", (LazyGroup,), {"lazy": tuple(entries)})
