"""What differs between SQLite and PostgreSQL, kept in one place.

- URLs: ``postgresql://`` and ``sqlite://`` get their async drivers (asyncpg, aiosqlite);
  SQLite must be a file, because WAL needs one.
- SQLite runs in WAL mode (readers never wait for the writer), ``synchronous=NORMAL``
  (durable at checkpoints, never corrupt) and with foreign keys on. Its Python driver
  opens transactions lazily and only before writes, which would let a read-then-write
  transaction see stale data; so lnpilot begins transactions itself: ``BEGIN IMMEDIATE``
  for writers (they queue for the single write lock up front, instead of failing midway
  with "database is locked") and a plain ``BEGIN`` for readers (one snapshot throughout).
- PostgreSQL readers run ``REPEATABLE READ``, so a read made of several statements (the
  channels, then their policies) sees one snapshot. Writers to one node take a
  transaction-scoped advisory lock, which keeps raw row ids of a node in commit order: the
  rollup watermark then never skips a row that was still uncommitted. SQLite's single
  writer gives the same for free.
- SQLite's planner has no statistics unless ANALYZE ran; :func:`no_index` steers it where
  it would guess wrong.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import fields
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    column,
    delete,
    event,
    func,
    select,
    type_coerce,
)
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

SQLITE_FILE_NAME = "lnpilot.sqlite"
#: How long a SQLite writer waits for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_S = 30.0
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
#: Advisory lock namespaces (first key of PostgreSQL's two-key advisory locks).
_LOCK_NODE = 0x4C4E50  # "LNP"
_LOCK_MIGRATIONS = 0x4C4E51
_LOCK_PARTITIONS = 0x4C4E52
_WRITER = "lnpilot_writer"
_T = TypeVar("_T")


def sqlite_url(data_dir: Path) -> str:
    """The default database: one SQLite file in the data directory."""
    return f"sqlite+aiosqlite:///{(data_dir / SQLITE_FILE_NAME).resolve()}"


def normalize_url(url: str | URL) -> URL:
    """``url`` with its async driver; raises ValueError for what the store cannot use."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError("SQLite needs a file path (WAL mode does not work in memory)")
    return parsed


def create_engine(url: str | URL) -> AsyncEngine:
    """An engine set up as the module docstring says; creates a SQLite file's directory."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        return create_async_engine(parsed, pool_pre_ping=True)
    assert parsed.database is not None
    Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine.sync_engine, "connect", _sqlite_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None  # lnpilot emits BEGIN itself (_sqlite_begin)
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writer = connection.get_execution_options().get(_WRITER, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a write transaction: committed on exit, rolled back on error."""
    async with engine.connect() as conn:
        await conn.execution_options(**{_WRITER: True})
        async with conn.begin():
            yield conn


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a read transaction that sees one snapshot of the database."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            yield conn


async def lock_node(conn: AsyncConnection, node_id: int) -> None:
    """Serialise writers to one node until the transaction ends (see module docstring)."""
    await _advisory_lock(conn, _LOCK_NODE, node_id)


async def lock_migrations(conn: AsyncConnection) -> None:
    """Let one process at a time migrate a PostgreSQL database; the others then find it done."""
    await _advisory_lock(conn, _LOCK_MIGRATIONS, 0)


async def lock_partitions(conn: AsyncConnection) -> None:
    """Let one writer at a time create time partitions (PostgreSQL; see ``partitions``)."""
    await _advisory_lock(conn, _LOCK_PARTITIONS, 0)


async def _advisory_lock(conn: AsyncConnection, namespace: int, key: int) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(namespace, key)))


class _NoIndex(FunctionElement[Any]):
    inherit_cache = True


@compiles(_NoIndex)
def _plain(element: _NoIndex, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_NoIndex, "sqlite")
def _unary_plus(element: _NoIndex, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.clauses, **kw)


def no_index(column: ColumnElement[_T]) -> ColumnElement[_T]:
    """``column``, but not to be looked up through an index: SQLite's planner guesses
    without statistics and may scan a long range of an index where a short range of row
    ids is at hand (PostgreSQL's planner has statistics and gets the column as is)."""
    return type_coerce(_NoIndex(column), column.type)


async def insert_returning_id(conn: AsyncConnection, table: Table, row: Mapping[str, Any]) -> int:
    """Insert one row of a table keyed by an ``id`` column; returns the id it was given."""
    result = await conn.execute(table.insert().values(row).returning(table.c.id))
    new_id: int = result.scalar_one()
    return new_id


async def insert_record(conn: AsyncConnection, table: Table, record: DataclassInstance) -> int:
    """Insert a record whose dataclass fields are the table's columns, all but ``id`` (the
    database gives it); returns that id. One mapping from journal record to row, so a field
    added to a record reaches its column without a second list to keep in step."""
    row = {f.name: getattr(record, f.name) for f in fields(record) if f.name != "id"}
    return await insert_returning_id(conn, table, row)


async def insert_new(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows`` (all with the same keys), skipping those a unique key already holds;
    returns how many were new.

    The rows go to the driver as plain tuples, each value through its column type's bind
    processor: the per-row parameter handling SQLAlchemy would add costs more than the
    database's insert itself. On SQLite the statement is compiled once and given to the
    driver's ``executemany``, which sums the rows changed. On PostgreSQL the rows are
    COPYed (asyncpg's binary ``copy_records_to_table``) into a temporary table of the
    connection, then moved with one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``:
    COPY cannot skip duplicates itself, and a row-by-row ``executemany`` is a round of
    protocol messages per row (some 30k forwards/s against 100k+). ``DO NOTHING`` without
    a conflict target honours every unique index, the expression ones included.
    """
    if not rows:
        return 0
    keys = list(rows[0])
    params = _driver_rows(conn, table, keys, rows)
    if conn.dialect.name == "postgresql":
        return await _copy_new(conn, table, keys, params)
    stmt = upsert(conn, table).on_conflict_do_nothing()
    sql = str(stmt.compile(dialect=conn.dialect, column_keys=keys))
    return (await conn.exec_driver_sql(sql, params)).rowcount


def _driver_rows(
    conn: AsyncConnection, table: Table, keys: list[str], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """``rows`` as tuples of ``keys``' values, as the driver takes them."""
    row_values = itemgetter(*keys)
    params: list[tuple[Any, ...]] = [
        row_values(row) if len(keys) > 1 else (row_values(row),) for row in rows
    ]
    for i, key in enumerate(keys):
        process = table.c[key].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is not None:  # e.g. times as SQLite text; integers need none
            params = [(*p[:i], process(p[i]), *p[i + 1 :]) for p in params]
    return params


async def _copy_new(
    conn: AsyncConnection, table: Table, keys: list[str], params: list[tuple[Any, ...]]
) -> int:
    """COPY into ``pg_temp.lnpilot_new_<table>`` (made once per connection, emptied at each
    commit and after use), then insert what no unique index holds yet."""
    staging = sql_table(f"lnpilot_new_{table.name}", *(column(key) for key in keys))
    columns = ", ".join(f'"{c.name}"' for c in table.c if c.name != "id")  # any rows' keys
    # Through SQLAlchemy first: that opens the transaction the raw COPY then joins. The
    # names are the schema's own, never input.
    create = f"CREATE TEMP TABLE IF NOT EXISTS {staging.name} ON COMMIT DELETE ROWS AS "
    as_select = f'SELECT {columns} FROM "{table.name}" WITH NO DATA'  # noqa: S608
    await conn.exec_driver_sql(create + as_select)
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(staging.name, records=params, columns=keys)
    result = await conn.execute(
        postgresql.insert(table).from_select(keys, select(*staging.c)).on_conflict_do_nothing()
    )
    await conn.execute(delete(staging))
    return result.rowcount


def upsert(conn: AsyncConnection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that can take ``ON CONFLICT`` clauses, in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
