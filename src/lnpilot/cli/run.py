"""``lnpilot run``: the daemon, with the REST API, dashboard and ``/metrics`` beside it.

The alerts file and the fee policy are read and validated before anything starts. SIGTERM
(or Ctrl-C) stops the loops after their current run and then the HTTP server.
"""

from __future__ import annotations

import asyncio
import signal

import typer

from lnpilot.api.app import create_app
from lnpilot.cli import output
from lnpilot.cli.runtime import ExitCode, state_of
from lnpilot.config import Settings
from lnpilot.fees import PolicyError
from lnpilot.notify import Notifier
from lnpilot.rebalance import SettingsError
from lnpilot.service.alerts_file import AlertsFileError
from lnpilot.service.daemon import (
    Daemon,
    EngineConfig,
    build_loops,
    load_engine_config,
    open_services,
    with_engine_files,
)
from lnpilot.service.heap import settle_heap
from lnpilot.service.workers import WorkerDied


def run(ctx: typer.Context) -> None:
    """Run the daemon: collector, fee engine, rebalancer, alerts, API and dashboard.

    Also rollups and retention, notifications, and /metrics; the API's address is [api] in
    the configuration, served by [api] workers processes beside the loops' one."""
    state = state_of(ctx)
    try:
        settings = with_engine_files(state.settings(), state.config_file)
        engine = load_engine_config(settings)
    except (AlertsFileError, PolicyError, SettingsError) as exc:
        for problem in exc.problems:
            output.error(problem)
        raise typer.Exit(ExitCode.BAD_INPUT) from None
    try:
        asyncio.run(_serve(settings, engine))
    except OSError as exc:  # the API's address is taken or not ours
        output.error(f"cannot listen on {settings.api.host}:{settings.api.port}: {exc}")
        raise typer.Exit(ExitCode.FAILED) from None
    except WorkerDied as exc:
        output.error(f"{exc}; the loops were stopped")
        raise typer.Exit(ExitCode.FAILED) from None


async def _serve(settings: Settings, engine: EngineConfig) -> None:
    async with (
        open_services(settings) as services,
        Notifier(services.store, engine.notify) as notifier,
    ):
        app_factory = create_app if settings.api.enabled else None
        daemon = Daemon(services, build_loops(services, engine, notifier), app_factory)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, daemon.stop)
        loops = ", ".join(s.name for s in services.health.all())
        where = f"; API on {daemon.api_url}" if daemon.api_url else ""
        # One line, whatever the width: scripts and people copy the address from it.
        output.stdout.print(f"lnpilot running: {loops}{where}", soft_wrap=True)
        settle_heap()
        await daemon.run()
        output.stdout.print("lnpilot stopped.")
