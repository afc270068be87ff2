"""Store fixtures: every store test runs on SQLite, and on the real PostgreSQL when asked.

PostgreSQL is asked for by ``LNPILOT_TEST_PG_URL`` (any SQLAlchemy URL of a database the
user may create databases from) or by ``CI=true``, which uses the local server
(``postgresql+asyncpg://root@127.0.0.1:5432/test``). Then a database that cannot be reached
fails the tests: on CI a skip would pass while testing nothing. Each session works in its
own fresh database (``lnpilot_test_<random>``), dropped at the end, so parallel runs and
other users of ``test`` never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import URL

from lnpilot.devtools import lnbits_required as ci_requires_real_servers
from lnpilot.devtools.pg_database import FreshPgDatabase
from lnpilot.store import Store, normalize_url, sqlite_url, upgrade
from lnpilot.store.tables import metadata

LOCAL_PG_URL = "postgresql+asyncpg://root@127.0.0.1:5432/test"


def pg_server_url() -> str | None:
    """The PostgreSQL server tests use (see the module docstring), or None: SQLite only."""
    url = os.environ.get("LNPILOT_TEST_PG_URL", "").strip()
    if url:
        return url
    return LOCAL_PG_URL if ci_requires_real_servers() else None


BACKENDS = ["sqlite", *(["postgresql"] if pg_server_url() else [])]


@pytest.fixture(scope="session", params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[URL]:
    """A migrated database for the session, on each backend under test."""
    if request.param == "sqlite":
        url = normalize_url(sqlite_url(tmp_path_factory.mktemp("store")))
        await upgrade(url)
        yield url
        return
    server_url = pg_server_url()
    assert server_url is not None
    async with _fresh_pg_database(normalize_url(server_url)) as url:
        await upgrade(url)
        yield url


def _fresh_pg_database(server_url: URL) -> FreshPgDatabase:
    """A fresh database on the server (CI=true or LNPILOT_TEST_PG_URL), dropped on exit."""
    return FreshPgDatabase(server_url)


@pytest.fixture
async def store(database_url: URL) -> AsyncIterator[Store]:
    """The session database, emptied, opened as lnpilot opens it."""
    async with await Store.open(database_url) as opened:
        async with opened.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(delete(table))
        yield opened
