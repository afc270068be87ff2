"""Backup fixtures: the collector tests' simulated network (our node behind its real LND
REST face) and the store tests' databases — SQLite, and PostgreSQL too when asked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.conftest import api
from collect.conftest import T0, Sim, running_sim
from store.conftest import database_url, store

__all__ = ["api", "database_url", "store"]


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_sim(T0) as world:
        yield world
