"""Whole-database copies, for backups: made consistent while lnpilot keeps running.

- SQLite: the online backup API copies the pages of one read snapshot into a new file,
  which is then switched out of WAL mode so the copy is one self-contained file.
- PostgreSQL: ``pg_dump --format=custom`` on a snapshot that this module exports from its
  own REPEATABLE READ transaction, and counts the rows in that same snapshot, so the counts
  written into a backup's manifest are exactly what the dump holds. ``pg_dump`` refuses a
  server newer than itself; that is checked first so the error says which versions met.

Restores write into the database a URL names: SQLite through the backup API the other way
round, PostgreSQL with the script of ``pg_restore --clean --if-exists`` run by ``psql
--single-transaction`` (all or nothing), after dropping the monthly partitions
(``lnpilot.store.partitions``) in the same transaction: ``--clean`` alone tries to drop each
partition's inherited constraints, which PostgreSQL refuses. Passwords reach the client
tools through ``PGPASSWORD``, never the command line.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

from lnpilot.store.database import create_engine, normalize_url, reading
from lnpilot.store.partitions import SCHEMA as PARTITION_SCHEMA
from lnpilot.store.tables import metadata

#: The dump's file name inside a backup, per database kind.
DUMP_FILE_NAMES = {"sqlite": "lnpilot.sqlite", "postgresql": "lnpilot.pgdump"}


class DumpError(Exception):
    """A dump or restore could not be made; the message says why (no password in it)."""


@dataclass(frozen=True)
class Dump:
    """A database copied to ``path``, with its rows per table as the copy holds them."""

    kind: str
    path: Path
    row_counts: dict[str, int]
    schema_revision: str | None


def kind_of(url: str | URL) -> str:
    """``sqlite`` or ``postgresql``."""
    return normalize_url(url).get_backend_name()


def _tables() -> list[Table]:
    return list(metadata.sorted_tables)


async def _counts(conn: AsyncConnection) -> dict[str, int]:
    """Rows per lnpilot table that exists (a database not migrated yet has none)."""
    present = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    counts = {}
    for table in _tables():
        if table.name in present:
            query = select(func.count()).select_from(table)
            counts[table.name] = int((await conn.execute(query)).scalar_one())
    return counts


async def _revision(conn: AsyncConnection) -> str | None:
    return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def sqlite_file_exists(url: str | URL) -> bool:
    database = normalize_url(url).database
    return database is not None and Path(database).expanduser().is_file()


async def row_counts(url: str | URL) -> dict[str, int]:
    """Rows per lnpilot table of the database at `url` (one snapshot)."""
    engine = create_engine(url)
    try:
        async with reading(engine) as conn:
            return await _counts(conn)
    finally:
        await engine.dispose()


def sqlite_copy_contents(path: Path) -> tuple[dict[str, int], str | None]:
    """Rows per table and the schema revision of a SQLite copy, read without changing it
    (lnpilot's engine would switch the file to WAL mode)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        present = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        counts = {
            t.name: int(conn.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0])  # noqa: S608
            for t in _tables()
            if t.name in present
        }
        revision = None
        if "alembic_version" in present:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
    return counts, revision


def sqlite_integrity(path: Path) -> list[str]:
    """SQLite's own integrity check of a file: empty when it is sound."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    return [] if result == ["ok"] else [f"SQLite integrity check: {'; '.join(result)}"]


async def dump(url: str | URL, dest_dir: Path) -> Dump:
    """Copy the database at `url` into `dest_dir` (see the module docstring)."""
    parsed = normalize_url(url)
    kind = parsed.get_backend_name()
    dest = dest_dir / DUMP_FILE_NAMES[kind]
    if kind == "sqlite":
        assert parsed.database is not None
        await asyncio.to_thread(_sqlite_copy, parsed.database, dest, False)
        counts, revision = await asyncio.to_thread(sqlite_copy_contents, dest)
        return Dump(kind, dest, counts, revision)
    await check_pg_tools(parsed, "pg_dump")
    engine = create_engine(parsed)
    try:
        async with reading(engine) as conn:
            snapshot = (await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
            counts, revision = await _counts(conn), await _revision(conn)
            await run_tool(
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={dest}",
                url=parsed,
            )
    finally:
        await engine.dispose()
    return Dump(kind, dest, counts, revision)


async def restore(url: str | URL, source: Path) -> None:
    """Write the dump at `source` into the database at `url`, replacing what the dump holds.

    The caller decides whether the target may be overwritten (see ``backup restore``)."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        await asyncio.to_thread(_sqlite_copy, source, parsed.database, True)
        return
    await check_pg_tools(parsed, "pg_restore")
    with tempfile.TemporaryDirectory(prefix="lnpilot-restore-") as tmp:
        script = Path(tmp) / "restore.sql"
        await run_tool(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            f"--file={script}",
            str(source),
        )
        await run_tool(
            "psql",
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--command=DROP SCHEMA IF EXISTS {PARTITION_SCHEMA} CASCADE",
            f"--file={script}",
            f"--dbname={parsed.database}",
            url=parsed,
        )


def _sqlite_copy(source: Path | str, target: Path | str, into_live: bool) -> None:
    """Copy with SQLite's backup API. A backup file is left in rollback-journal mode (one
    self-contained file); a live database is put back in WAL mode, as lnpilot runs it."""
    source, target = Path(source).expanduser(), Path(target).expanduser()
    if not source.is_file():
        raise DumpError(f"no SQLite database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
        dst.execute(f"PRAGMA journal_mode={'WAL' if into_live else 'DELETE'}")


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value is not None:
            env[name] = str(value)
    return env


async def run_tool(tool: str, *args: str, url: URL | None = None) -> str:
    """Run a PostgreSQL client tool (against `url`'s server when given); its output."""
    try:
        process = await asyncio.create_subprocess_exec(
            tool,
            *args,
            env=_pg_env(url) if url is not None else None,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise DumpError(
            f"{tool} is not installed: install the PostgreSQL client tools "
            "(Debian: postgresql-client) at the server's major version or newer"
        ) from None
    out, err = await process.communicate()
    if process.returncode != 0:
        message = err.decode(errors="replace").strip()
        if url is not None and url.password:
            message = message.replace(url.password, "***")
        raise DumpError(f"{tool} failed (exit {process.returncode}): {message}")
    return out.decode(errors="replace")


async def check_pg_tools(url: URL, tool: str) -> None:
    """Refuse early, naming both versions, when `tool` is older than the server."""
    version = await run_tool(tool, "--version")
    found = re.search(r"(\d+)(?:\.(\d+))?", version)
    if found is None:
        raise DumpError(f"cannot read the version of {tool}: {version.strip()!r}")
    client_major = int(found[1])
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            server_num = int((await conn.execute(text("SHOW server_version_num"))).scalar_one())
    finally:
        await engine.dispose()
    if client_major < server_num // 10000:
        raise DumpError(
            f"{tool} {client_major} is older than the PostgreSQL server "
            f"({server_num // 10000}); install the client tools of version "
            f"{server_num // 10000} or newer"
        )
