"""Alembic environment: migrates on the connection :mod:`lnpilot.store.migrate` passes in.

There is no standalone ``alembic`` command line set up: the connection comes from lnpilot,
already configured for its database (SQLite pragmas, async driver) and in a transaction.
``render_as_batch`` lets future revisions alter SQLite tables (it has little ALTER TABLE).
"""

from alembic import context

from lnpilot.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run lnpilot's migrations with lnpilot.store.migrate.upgrade(url)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
