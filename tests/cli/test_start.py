"""Start-up: ``lnpilot --help`` and light commands import none of the heavy libraries, the
lazily listed commands say what the commands themselves say, and the shipped example
configuration works as copied.

The start-up time itself is measured by ``bench/cli_start.py``, not asserted here: what a
test can check on any machine is what gets imported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from lnpilot.cli.main import COMMANDS, app

from .conftest import Cli

ROOT = Path(__file__).resolve().parents[2]

#: What made every command cost about 2 s of CPU before the commands were imported lazily.
HEAVY = ("numpy", "alembic", "fastapi", "sqlalchemy", "uvicorn", "jinja2")

_PROBE = """
import json, sys
from lnpilot.cli.main import app
sys.argv = ["lnpilot", *json.loads(sys.argv[1])]
try:
    app()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr)
"""


def _heavy_imported(*args: str) -> list[str]:
    """Run lnpilot with ``args`` in a fresh interpreter; the heavy modules it imported."""
    probe = _PROBE.replace("{heavy}", repr(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(list(args))],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    imported: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return imported


@pytest.mark.parametrize(
    "args", [("--help",), ("wallet", "--help"), ("wallet", "show", "--help"), ("pay", "--help")]
)
def test_light_commands_import_no_heavy_library(args: tuple[str, ...]) -> None:
    assert _heavy_imported(*args) == []


def test_a_store_command_still_loads_what_it_needs() -> None:
    """The probe sees imports at all: ``tokens --help`` builds on the store."""
    assert "sqlalchemy" in _heavy_imported("tokens", "--help")


def test_each_listed_line_is_the_command_own_help() -> None:
    """``COMMANDS`` copies each command's first help paragraph so the listing imports
    nothing; when a command's help changes, its line in ``lnpilot.cli.main`` must too."""
    stale = []
    for entry in COMMANDS:
        command = entry.load()
        first = " ".join((command.help or "").strip().split("\n\n")[0].split())
        if first != entry.help:
            stale.append(f"{entry.name}: listed {entry.help!r}, the command says {first!r}")
    assert stale == []


def test_help_lists_every_command_in_one_piece() -> None:
    root = typer.main.get_command(app)
    ctx = root.context_class(root)
    assert root.list_commands(ctx) == [entry.name for entry in COMMANDS]  # type: ignore[attr-defined]


def test_help_names_the_configuration_variable(cli: Cli) -> None:
    """``lnpilot --help`` spells the variable out rather than import the configuration."""
    from lnpilot.config import CONFIG_ENV_VAR

    assert f"${CONFIG_ENV_VAR}" in cli("--help").stdout


def test_unknown_command_is_still_a_usage_error(cli: Cli) -> None:
    result = cli("walet")
    assert result.exit_code == 2
    assert "No such command 'walet'" in result.output


def test_example_configuration_loads_as_copied(cli: Cli, tmp_path: Path) -> None:
    """The README's first step is copying lnpilot.example.toml: every command must then
    start, and a node command must say what is missing rather than fail on the file."""
    shutil.copy(ROOT / "lnpilot.example.toml", tmp_path / "lnpilot.toml")
    tokens = cli("tokens", "list")
    assert tokens.exit_code == 0, tokens.output
    assert "No tokens." in tokens.stdout
    collect = cli("collect")
    assert collect.exit_code == 2, collect.output
    assert "no node backend: [lnd] is not configured and [lnbits] has wallet keys only" in (
        collect.stderr
    )
    assert "lnbits.username with lnbits.password" in collect.stderr
