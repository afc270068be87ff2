"""Backup fixtures: the collector tests' simulated network (our node behind its real LND
REST face), the store tests' databases — SQLite, and PostgreSQL too when asked — and the
notifier tests' real SMTP and HTTP receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from api.conftest import api
from collect.conftest import T0, Sim, running_sim
from notify.conftest import cert, http_server, smtp_starttls
from store.conftest import database_url, store

__all__ = ["api", "cert", "database_url", "http_server", "smtp_starttls", "store"]


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_sim(T0) as world:
        yield world
