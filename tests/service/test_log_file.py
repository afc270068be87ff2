"""``[logging] file``: rotated by size, text or JSON lines, secrets masked — through the CLI's
own logging set-up, as ``lnpilot run`` gets it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from lnpilot.base.redact import register_secret
from lnpilot.cli.runtime import CliState
from lnpilot.service.logs import HANDLER_NAME

SECRET = "f00dfeedcafe" * 3


@pytest.fixture
def lnpilot_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("lnpilot")
    before = list(logger.handlers)
    yield logger
    for handler in [h for h in logger.handlers if h not in before]:
        logger.removeHandler(handler)
        handler.close()


def configured(tmp_path: Path, logging_section: str) -> None:
    config = tmp_path / "lnpilot.toml"
    config.write_text(
        f'log_level = "INFO"\n[lnbits]\nurl = "http://127.0.0.1:9"\n'
        f'admin_key = "{SECRET}"\n[logging]\n{logging_section}\n'
    )
    CliState(config_file=config).settings()


def test_json_lines_with_secrets_masked(tmp_path: Path, lnpilot_logger: logging.Logger) -> None:
    configured(tmp_path, 'file = "logs/lnpilot.log"\nformat = "json"')
    register_secret(SECRET)
    log = logging.getLogger("lnpilot.test")
    log.info("calling with key %s", SECRET)
    try:
        raise RuntimeError(f"refused: X-Api-Key {SECRET}")
    except RuntimeError:
        log.exception("it failed")
    text = (tmp_path / "logs" / "lnpilot.log").read_text()
    assert SECRET not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["message"] == "calling with key ***"
    assert (first["level"], first["logger"]) == ("INFO", "lnpilot.test")
    assert second["message"] == "it failed" and "RuntimeError: refused" in second["exc"]


def test_rotates_by_size_and_keeps_count_files(
    tmp_path: Path, lnpilot_logger: logging.Logger
) -> None:
    configured(tmp_path, 'file = "lnpilot.log"\nmax_bytes = 1024\nkeep = 2')
    log = logging.getLogger("lnpilot.test")
    for n in range(200):
        log.warning("line %03d %s", n, "x" * 40)
    files = sorted(p.name for p in tmp_path.glob("lnpilot.log*"))
    assert files == ["lnpilot.log", "lnpilot.log.1", "lnpilot.log.2"]
    assert all(p.stat().st_size <= 1024 for p in tmp_path.glob("lnpilot.log*"))
    assert "line 199" in (tmp_path / "lnpilot.log").read_text()
    assert [h.get_name() for h in lnpilot_logger.handlers].count(HANDLER_NAME) == 1


def test_bad_logging_values_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(typer.Exit):
        configured(tmp_path, 'file = "x.log"\nformat = "xml"')
