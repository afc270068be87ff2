"""docs/cli.md's reference is what the CLI says about itself (scripts/cli_docs.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_reference_in_docs_cli_md_is_up_to_date() -> None:
    script = ROOT / "scripts" / "cli_docs.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_reference_documents_every_command() -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in ("lnpilot collect", "lnpilot tokens create", "lnpilot export", "lnpilot run"):
        assert f"### `{command}`" in page
