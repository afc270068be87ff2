"""The optional log file: rotated by size, plain text or JSON lines, secrets redacted.

The console gets lnpilot's logs as before (``log_level``); ``[logging] file`` adds a file
that outlives the terminal, rotated when it reaches ``max_bytes`` with ``keep`` old files
beside it (``lnpilot.log.1`` is the newest), so a daemon left alone for months never fills
the disk. ``format = "json"`` writes one JSON object per line (time, level, logger,
message, and the traceback when there is one) for a log shipper to read.

Everything written passes through :func:`lnpilot.base.redact.redact_text`, the message
and the traceback alike: registered secrets (keys, macaroons, passwords, tokens) and
secret-shaped strings are masked, whatever code logged them.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from lnpilot.base.redact import redact_text

HANDLER_NAME = "lnpilot-file"
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Plain lines, with secrets masked in the message and the traceback."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: ``at``, ``level``, ``logger``, ``message``, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def file_handler(
    path: Path, *, max_bytes: int, keep: int, fmt: Literal["text", "json"]
) -> logging.Handler:
    """A size-rotating handler on `path` (its folder made if need be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=keep, encoding="utf-8"
    )
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JsonLinesFormatter() if fmt == "json" else RedactingFormatter())
    return handler


def attach_file(
    logger: logging.Logger,
    path: Path,
    *,
    max_bytes: int,
    keep: int,
    fmt: Literal["text", "json"],
) -> logging.Handler:
    """Send `logger`'s records to the file too; replaces a file handler set before."""
    for old in [h for h in logger.handlers if h.get_name() == HANDLER_NAME]:
        logger.removeHandler(old)
        old.close()
    handler = file_handler(path, max_bytes=max_bytes, keep=keep, fmt=fmt)
    logger.addHandler(handler)
    return handler
