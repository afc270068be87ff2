"""A throwaway PostgreSQL database: what the store's tests and benchmarks work in.

Each user gets ``<prefix>_<random>`` on the server, dropped on exit (``WITH (FORCE)``, so a
connection left open by a failed test does not keep it), so parallel runs and other users of
the server never see each other's rows.
"""

from __future__ import annotations

import uuid

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine


class FreshPgDatabase:
    """Create ``<prefix>_<random>`` on the server of ``server_url``; drop it on exit."""

    def __init__(self, server_url: URL, prefix: str = "lnpilot_test") -> None:
        self._admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
        self._name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.url = server_url.set(database=self._name)

    async def __aenter__(self) -> URL:
        try:
            async with self._admin.connect() as conn:
                await conn.exec_driver_sql(f'CREATE DATABASE "{self._name}"')
        except Exception as exc:
            await self._admin.dispose()
            raise RuntimeError(
                f"PostgreSQL at {self.url.render_as_string()} is required but cannot be used: {exc}"
            ) from exc
        return self.url

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            async with self._admin.connect() as conn:
                await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
        finally:
            await self._admin.dispose()
