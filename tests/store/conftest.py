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
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from lnpilot.devtools import lnbits_required as ci_requires_real_servers
from lnpilot.store import Store, normalize_url, sqlite_url, upgrade
from lnpilot.store.tables import metadata

LOCAL_PG_URL = "postgresql+asyncpg://root@127.0.0.1:5432/test"


def _pg_url() -> str | None:
    url = os.environ.get("LNPILOT_TEST_PG_URL", "").strip()
    if url:
        return url
    return LOCAL_PG_URL if ci_requires_real_servers() else None


BACKENDS = ["sqlite", *(["postgresql"] if _pg_url() else [])]


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
    server_url = _pg_url()
    assert server_url is not None
    async with _fresh_pg_database(normalize_url(server_url)) as url:
        await upgrade(url)
        yield url


class _fresh_pg_database:
    """Create ``lnpilot_test_<random>`` on the server of ``server_url``; drop it on exit."""

    def __init__(self, server_url: URL) -> None:
        self._admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
        self._name = f"lnpilot_test_{uuid.uuid4().hex[:12]}"
        self.url = server_url.set(database=self._name)

    async def __aenter__(self) -> URL:
        try:
            async with self._admin.connect() as conn:
                await conn.exec_driver_sql(f'CREATE DATABASE "{self._name}"')
        except Exception as exc:
            await self._admin.dispose()
            raise RuntimeError(
                f"PostgreSQL at {self.url.render_as_string()} is required (CI=true or "
                f"LNPILOT_TEST_PG_URL) but cannot be used: {exc}"
            ) from exc
        return self.url

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            async with self._admin.connect() as conn:
                await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
        finally:
            await self._admin.dispose()


@pytest.fixture
async def store(database_url: URL) -> AsyncIterator[Store]:
    """The session database, emptied, opened as lnpilot opens it."""
    async with await Store.open(database_url) as opened:
        async with opened.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                await conn.execute(delete(table))
        yield opened
