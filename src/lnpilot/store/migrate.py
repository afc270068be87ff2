"""Schema migrations with Alembic, run from the installed package (no alembic.ini needed).

The revisions live in ``lnpilot/store/migrations/versions`` and ship in the wheel. They run
on a connection lnpilot opens (SQLite pragmas and all), inside one write transaction, so a
failed upgrade leaves the database as it was (PostgreSQL rolls DDL back; SQLite does too),
and concurrent starts queue for it instead of racing.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from lnpilot.store.database import create_engine, lock_migrations, writing

#: Alembic's package-resource form: found wherever lnpilot is installed.
SCRIPT_LOCATION = "lnpilot.store:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for lnpilot; env.py migrates on ``connection``."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision this version of lnpilot expects the database at."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(url: str | URL) -> str:
    """Bring the database at ``url`` to the newest schema (what ``lnpilot db upgrade``
    does); returns the revision it is at. Safe to run on an up-to-date database."""
    engine = create_engine(url)
    try:
        return await upgrade_engine(engine)
    finally:
        await engine.dispose()


async def upgrade_engine(engine: AsyncEngine) -> str:
    async with writing(engine) as conn:
        await lock_migrations(conn)
        return await conn.run_sync(_upgrade)


def _upgrade(connection: Connection) -> str:
    command.upgrade(alembic_config(connection), "head")
    revision = MigrationContext.configure(connection).get_current_revision()
    assert revision is not None
    return revision
