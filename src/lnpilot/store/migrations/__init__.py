"""Alembic migrations of the store (a package, so they ship with lnpilot)."""
