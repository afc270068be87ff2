"""Lifecycle fixtures: the collector's simulated network (our node behind its real LND REST
face, a store per test) and its CLI runner, reused as they are."""

from __future__ import annotations

from api.conftest import Api, api
from collect.conftest import Sim, database_url, running_sim, sim, store
from collect.test_cli import Cli, cli

__all__ = ["Api", "Cli", "Sim", "api", "cli", "database_url", "running_sim", "sim", "store"]
