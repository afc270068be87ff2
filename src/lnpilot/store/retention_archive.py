"""Raw rows written to compressed monthly files before retention deletes them.

Each run writes, per table and per month of the rows' time, one file
``<archive_dir>/<table>/<YYYY-MM>/<table>-<YYYY-MM>-<first id>-<last id>.jsonl.gz``: one JSON
object per line, the row's columns by name (times in ISO 8601 UTC, amounts as integers).
Files are written beside their final name and renamed once complete, inside the
transaction that deletes the rows, so a failure to write leaves the rows in the database.
A crash after the rename but before the commit leaves the rows both archived and present;
the next run archives them again in a file of its own, and the ``id`` column tells the
copies apart (``zcat */*/*.jsonl.gz | jq -s 'unique_by(.id)'``).

Rows are read in batches by id (each query complete, no server-side cursor left open, which
would keep PostgreSQL from dropping the partition just archived), so an archive run's memory
does not grow with the number of rows it moves.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from lnpilot.store.levels import time_from_ns

BATCH_ROWS = 2000


@dataclass
class _MonthFile:
    partial: Path
    final_dir: Path
    table: str
    month: str
    handle: gzip.GzipFile
    first_id: int
    last_id: int = 0


def _month_of(row: dict[str, Any]) -> str:
    at: datetime = time_from_ns(row["timestamp_ns"]) if "timestamp_ns" in row else row["at"]
    return at.strftime("%Y-%m")


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


class _Writers:
    """One open gzip file per month of the rows seen so far in this run."""

    def __init__(self, archive_dir: Path, table: str) -> None:
        self._dir = archive_dir / table
        self._table = table
        self._open: dict[str, _MonthFile] = {}

    def write(self, month: str, row_id: int, line: bytes) -> None:
        found = self._open.get(month)
        if found is None:
            final_dir = self._dir / month
            final_dir.mkdir(parents=True, exist_ok=True)
            partial = final_dir / f".{self._table}-{month}-{row_id}.partial"
            # open across batches; closed by close() or abandon()
            handle = gzip.GzipFile(partial, "wb")
            found = self._open[month] = _MonthFile(
                partial, final_dir, self._table, month, handle, row_id
            )
        found.handle.write(line)
        found.last_id = row_id

    def close(self) -> Iterator[Path]:
        for month_file in self._open.values():
            month_file.handle.close()
            name = f"{self._table}-{month_file.month}-{month_file.first_id}-{month_file.last_id}"
            final = month_file.final_dir / f"{name}.jsonl.gz"
            os.replace(month_file.partial, final)
            yield final

    def abandon(self) -> None:
        for month_file in self._open.values():
            month_file.handle.close()
            month_file.partial.unlink(missing_ok=True)


async def archive_rows(
    conn: AsyncConnection, table: Table, doomed: list[ColumnElement[bool]], archive_dir: Path
) -> int:
    """Write the rows of `table` matching `doomed` to the archive; returns how many."""
    writers = _Writers(archive_dir, table.name)
    count = 0
    last_id = 0
    try:
        while True:
            query = select(table).where(*doomed, table.c.id > last_id).order_by(table.c.id)
            batch = (await conn.execute(query.limit(BATCH_ROWS))).mappings().all()
            if not batch:
                break
            lines = [
                (
                    _month_of(dict(row)),
                    row["id"],
                    json.dumps({k: _json_value(v) for k, v in row.items()}).encode() + b"\n",
                )
                for row in batch
            ]
            await asyncio.to_thread(_write_all, writers, lines)
            count += len(lines)
            last_id = batch[-1]["id"]
        await asyncio.to_thread(lambda: list(writers.close()))
    except BaseException:
        await asyncio.to_thread(writers.abandon)
        raise
    return count


def _write_all(writers: _Writers, lines: list[tuple[str, int, bytes]]) -> None:
    for month, row_id, line in lines:
        writers.write(month, row_id, line)
