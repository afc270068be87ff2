"""``lnpilot run``: the daemon's loop table, its shared objects, and the HTTP server beside it.

By default everything runs in one process and one asyncio event loop: the supervisor's loops
and the HTTP server (REST API, dashboard, ``/metrics``) share the :class:`Services`, so the
health endpoint reports on the very loops that run. With ``[api] workers`` above 1 the HTTP
server runs in that many processes of its own and the loops stay here
(:mod:`lnpilot.service.workers`). Adding an engine is one line in :func:`build_loops`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from lnpilot.collect import Collector, CycleReport
from lnpilot.collect.collector import TRANSIENT_ERRORS
from lnpilot.config import (
    Settings,
    config_file_path,
    make_client,
    make_node,
    retention_of,
)
from lnpilot.fees import PolicyFile, evaluate, load_policy
from lnpilot.fees.policy import find_policy_file
from lnpilot.monitor import Monitor, MonitorConfig
from lnpilot.node.backend import CapabilityMissing, NodeError
from lnpilot.notify import Notifier, NotifyConfig
from lnpilot.rebalance import (
    NotCollected,
    RebalanceMode,
    Rebalancer,
    RebalanceReport,
    RebalanceSettings,
    settings_from_policy,
)
from lnpilot.rebalance.swaps import SwapDesk
from lnpilot.service.alerts_file import alerts_file_path, load_alerts_file
from lnpilot.service.backups import backup_loops
from lnpilot.service.context import Services
from lnpilot.service.ownership import OwnershipGate
from lnpilot.service.supervisor import Loop, Supervisor
from lnpilot.service.workers import ApiWorkers, WorkerDied, WorkerSpec, api_server
from lnpilot.store import Store, backtests, sqlite_url


@dataclass(frozen=True)
class EngineConfig:
    """The engine's own files, read and validated before anything starts: a bad alerts or
    policy file fails ``lnpilot run`` at once instead of a loop at its first run."""

    monitor: MonitorConfig
    notify: NotifyConfig
    fee_policy: PolicyFile | None
    rebalance: RebalanceSettings | None = None


def with_engine_files(settings: Settings, config_file: Path | None) -> Settings:
    """`settings` with ``[service] alerts_file`` and ``fees_policy_file`` found the way the
    commands find them (``$LNPILOT_ALERTS``, ``$LNPILOT_FEES_POLICY``, the files beside the
    configuration), so the daemon, its API and ``lnpilot fees plan`` read the same files.
    Raises ``AlertsFileError`` when a named alerts file does not exist."""
    beside = config_file_path(config_file)
    found = {
        "alerts_file": alerts_file_path(settings.service.alerts_file, beside),
        "fees_policy_file": find_policy_file(settings.service.fees_policy_file, beside),
    }
    backup = settings.backup.model_copy(
        update={"config_file": settings.backup.config_file or beside}
    )
    return settings.model_copy(
        update={"service": settings.service.model_copy(update=found), "backup": backup}
    )


def load_engine_config(settings: Settings) -> EngineConfig:
    """The files `settings` name (see :func:`with_engine_files`), read and validated.
    Raises ``AlertsFileError``, ``PolicyError`` or ``SettingsError`` on a bad file."""
    monitor, notify = load_alerts_file(settings.service.alerts_file)
    policy_file = settings.service.fees_policy_file
    if policy_file is None:
        return EngineConfig(monitor, notify, None)
    policy = load_policy(policy_file)  # the file is read once; the rebalancer takes its part
    rebalance = settings_from_policy(policy.rebalance, policy.groups, str(policy_file))
    return EngineConfig(monitor, notify, policy, rebalance)


def collection_loops(
    services: Services,
    interval_s: float,
    *,
    jitter: float = 0.0,
    on_report: Callable[[CycleReport], None] | None = None,
) -> list[Loop]:
    """The collector every ``interval_s`` and the store's upkeep: the first lines of the
    daemon's table, and all that ``lnpilot collect --every`` runs, so both schedule,
    back off, resume and keep the store the same way. ``on_report`` sees every cycle."""
    store, node, clock = services.store, services.node, services.clock
    collector = Collector(node, store, clock=clock, interval=services.on_clock(interval_s))

    async def collect() -> None:
        await collector.run_once(on_report)

    async def node_answers() -> bool:
        """The collector's cheap probe while it backs off after an outage."""
        await node.get_info()
        return True

    async def maintain() -> None:
        """Rollups of whatever a failed post-cycle rollup left, then retention."""
        await store.rollup()
        await store.apply_retention(clock())

    outage = TRANSIENT_ERRORS  # the node or the database out of reach: logged in one line
    every = services.settings.service
    return [
        Loop("collect", interval_s, collect, expected=outage, ready=node_answers, jitter=jitter),
        Loop("retention", every.retention_interval_s, maintain, expected=outage),
    ]


def rebalance_loop(
    rebalancer: Rebalancer,
    interval_s: float,
    mode: RebalanceMode,
    *,
    on_report: Callable[[RebalanceReport], None] | None = None,
) -> Loop:
    """A rebalancing run every ``interval_s``: the daemon's line, and all that ``lnpilot
    rebalance auto`` runs, so both schedule, wait for the first collection (``NotCollected``
    is waiting, not failing) and back off after an outage the same way. ``on_report`` sees
    every run's report."""

    async def rebalance() -> None:
        report = await rebalancer.run(mode, trigger="auto")
        if on_report is not None:
            on_report(report)

    return Loop(
        "rebalance", interval_s, rebalance, waits_on=(NotCollected,), expected=TRANSIENT_ERRORS
    )


def build_loops(services: Services, engine: EngineConfig, notifier: Notifier) -> list[Loop]:
    """The daemon's loop table, one line per loop."""
    store, node, clock = services.store, services.node, services.clock
    every = services.settings.service
    collect_interval = services.on_clock(every.collect_interval_s)

    async def judge() -> None:
        pubkey = await services.pubkey()
        monitor = Monitor(store, engine.monitor, pubkey, node, collect_interval=collect_interval)
        await monitor.run_once(clock())

    async def deliver() -> None:
        await notifier.run_once(clock())

    outage = TRANSIENT_ERRORS  # the node or the database out of reach: logged in one line
    loops = [
        *collection_loops(services, every.collect_interval_s),
        Loop("monitor", every.monitor_interval_s, judge, expected=outage),
        Loop("notify", every.notify_interval_s, deliver, expected=outage),
    ]
    loops += backup_loops(services, store_url(services.settings), expected=outage)
    policy = engine.fee_policy
    if policy is not None:

        async def set_fees() -> None:
            await evaluate(node, store, policy, clock(), apply=every.fees_apply)

        loops.append(Loop("fees", every.fees_interval_s, set_fees, expected=outage))
    if engine.rebalance is not None and engine.rebalance.section.enabled:
        # Swaps are priced and journaled; the daemon never approves one (needs_approval).
        desk = SwapDesk(services.client, store, clock=clock) if services.client else None
        rebalancer = Rebalancer(node, store, engine.rebalance, clock=clock, swap_desk=desk)
        mode = RebalanceMode.APPLY if every.rebalance_apply else RebalanceMode.DRY_RUN
        loops.append(rebalance_loop(rebalancer, every.rebalance_interval_s, mode))
    if services.client is not None:
        follower = SwapDesk(services.client, store, clock=clock)

        async def follow_swaps() -> None:
            """Open swaps are in the store: a restarted daemon resumes them here. A node
            that cannot tell its height (LNbits on FakeWallet) only keeps swaps from
            expiring; they are followed all the same."""
            try:
                height = (await node.get_info()).block_height or None
            except (NodeError, CapabilityMissing):
                height = None
            await follower.follow(block_height=height)

        loops.append(Loop("swaps", every.swaps_interval_s, follow_swaps, expected=outage))
    return loops


def store_url(settings: Settings) -> str:
    """``[service] database_url``, else the SQLite file in the data directory."""
    return settings.service.database_url or sqlite_url(settings.data_dir)


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, *, follow_node: bool = True, **shared: Any
) -> AsyncIterator[Services]:
    """The store, the LNbits client and the node as the configuration says; closed on exit.
    ``follow_node`` starts the node's background work (LND's HTLC event stream, which the
    collector reads failed forwards from): an API worker, which collects nothing, leaves it
    off. ``shared`` are further :class:`Services` fields (a worker's health mirror and its
    run's key)."""
    async with (
        await Store.open(store_url(settings), retention=retention_of(settings)) as store,
        make_client(settings) as client,
    ):
        node = make_node(settings, client)
        try:
            if follow_node:
                await node.start()
            yield Services(store=store, node=node, settings=settings, client=client, **shared)
        finally:
            await node.aclose()


class Daemon:
    """The supervisor and, given an ``app_factory`` (what builds the faces' ASGI application
    from a :class:`Services`, passed by the caller: the service layer does not import the
    faces), the HTTP server on ``[api]``'s address, in this process or in ``[api] workers``
    processes of its own; :meth:`stop` ends both. On PostgreSQL, which other daemons may
    share, the loops act only while this daemon owns the node: an ``ownership`` loop keeps
    or takes it and guards the others (:mod:`lnpilot.service.ownership`); on SQLite the
    daemon is the only one and the loops run as given."""

    def __init__(
        self,
        services: Services,
        loops: list[Loop],
        app_factory: Callable[[Services], ASGIApp] | None = None,
    ) -> None:
        every = services.settings.service
        self.services = services
        self._gate: OwnershipGate | None = None
        engine = services.store.engine
        if engine.dialect.name == "postgresql":
            self._gate = OwnershipGate(engine.url, services.pubkey, every.ownership_retry_s)
            loops = self._gate.guard_all(loops, TRANSIENT_ERRORS)
        self.supervisor = Supervisor(
            loops,
            services.health,
            clock=services.clock,
            backoff_max_s=every.backoff_max_s,
            stop_timeout_s=every.stop_timeout_s,
        )
        self._server = None
        self._socket: socket.socket | None = None
        self._workers: ApiWorkers | None = None
        self._run_dir: Path | None = None
        if app_factory is None:
            return
        api = services.settings.api
        if api.workers == 1:
            self._socket = socket.create_server((api.host, api.port))
            self._server = api_server(app_factory(services))
            return
        self._run_dir = Path(tempfile.mkdtemp(prefix="lnpilot-run-"))
        try:
            health_file = self._run_dir / "health"
            services.health.publish_to(health_file)
            spec = WorkerSpec(services.settings, app_factory, health_file, services.secret_key)
            self._workers = ApiWorkers(spec, api.workers)
        except BaseException:
            shutil.rmtree(self._run_dir, ignore_errors=True)
            raise

    @property
    def api_url(self) -> str | None:
        """Where the API listens (known from construction: the sockets are bound already)."""
        if self._workers is not None:
            host, port = self._workers.address
        elif self._socket is not None:
            host, port = self._socket.getsockname()[:2]
        else:
            return None
        return f"http://{host}:{port}"

    @property
    def worker_pids(self) -> list[int]:
        """The API worker processes' ids (empty when the API is served here)."""
        return self._workers.pids if self._workers is not None else []

    def stop(self) -> None:
        self.supervisor.stop()

    async def run(self) -> None:
        """Run until :meth:`stop`; raises :class:`WorkerDied` when an API worker ended on
        its own (the loops are stopped first)."""
        if self._gate is None:  # a shared database's running backtests may be another's
            async with self.services.store.transaction() as tx:  # none of ours can run yet
                await backtests.interrupt_running(tx, self.services.clock())
        server_task = None
        died: list[WorkerDied] = []

        def worker_died(error: WorkerDied) -> None:
            died.append(error)
            self.stop()

        if self._server is not None and self._socket is not None:
            server_task = asyncio.create_task(self._server.serve([self._socket]))
        elif self._workers is not None:
            server_task = asyncio.create_task(self._workers.run(worker_died))
        try:
            await self.supervisor.run()
        finally:
            if self._server is not None:
                self._server.should_exit = True
            if self._workers is not None:
                self._workers.stop()
            if server_task is not None:
                await server_task
            await self.services.background.aclose()
            if self._gate is not None:
                await self._gate.close()
            if self._run_dir is not None:
                shutil.rmtree(self._run_dir, ignore_errors=True)
        if died:
            raise died[0]
