"""``[api] workers``: the HTTP server in several processes, the loops in one.

One process serves at most one core's worth of requests (``docs/limits.md``). With
``workers = N`` above 1, the daemon's own process keeps the loops and serves nothing; N
worker processes, started fresh (``spawn``: nothing of the daemon's event loop or open
connections is inherited), each open their own store, LNbits client and node, build the app
and serve it on a listening socket of their own bound to the same address with
``SO_REUSEPORT``, so the kernel spreads new connections between them. A worker never builds
the loop table, so no loop can run twice.

What a worker cannot read from the store it gets from the daemon: the loops' health (the
daemon's registry publishes to a file of the run's private folder, each worker reads it
through a :class:`~lnpilot.service.health.HealthMirror`) and the run's secret key (the
dashboard's CSRF tokens must check in every worker). A worker that dies stops the daemon
with an error, as a crash of the single-process daemon would: a supervisor (systemd) restarts
the whole, rather than the daemon serving on with fewer workers than configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from lnpilot.config import Settings
from lnpilot.service.context import Services
from lnpilot.service.health import HealthMirror

log = logging.getLogger(__name__)

#: How long a stopped worker has to finish its requests before it is killed.
WORKER_STOP_TIMEOUT_S = 30.0


class WorkerDied(RuntimeError):
    """An API worker process ended while the daemon ran."""


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process is started with (pickled into it): the settings, the
    function that builds the app from a worker's :class:`Services` (module-level, so it
    pickles by name), where the daemon publishes its loops' health, and the run's key."""

    settings: Settings
    app_factory: Callable[[Services], ASGIApp]
    health_file: Path
    secret_key: bytes


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` that other sockets of this user may bind too
    (``SO_REUSEPORT``): each worker accepts on one of its own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


class ApiWorkers:
    """``count`` worker processes serving ``spec``'s app on one address. The sockets are
    bound at construction (the address is known, or the error raised, before anything
    starts); :meth:`run` starts the processes and returns once they stopped."""

    def __init__(self, spec: WorkerSpec, count: int) -> None:
        api = spec.settings.api
        self.spec = spec
        first = listening_socket(api.host, api.port)
        self.address: tuple[str, int] = first.getsockname()[:2]
        self._sockets = [first]
        try:
            self._sockets += [listening_socket(api.host, self.address[1]) for _ in range(1, count)]
        except BaseException:
            self.close()
            raise
        self._processes: list[BaseProcess] = []
        self._stopping = False

    def close(self) -> None:
        """Close the sockets not yet handed to a worker."""
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    async def run(self, on_death: Callable[[WorkerDied], None]) -> None:
        """Start the workers and wait for them. ``on_death`` hears of a worker that ended
        before :meth:`stop` (the daemon then stops; this returns once the others did)."""
        context = multiprocessing.get_context("spawn")
        loop = asyncio.get_running_loop()
        ended = asyncio.Event()
        try:
            for number, sock in enumerate(self._sockets, start=1):
                worker = context.Process(
                    target=serve_worker, args=(self.spec, sock), name=f"lnpilot-api-{number}"
                )
                worker.start()
                self._processes.append(worker)
        finally:
            self.close()  # each worker holds its socket now; ours would take connections
        remaining = set(self._processes)

        def exited(process: BaseProcess) -> None:
            loop.remove_reader(process.sentinel)
            process.join()
            remaining.discard(process)
            if not self._stopping:
                self.stop()
                on_death(WorkerDied(f"API worker {process.name} ended (exit {process.exitcode})"))
            if not remaining:
                ended.set()

        for process in self._processes:
            loop.add_reader(process.sentinel, exited, process)
        try:
            await ended.wait()
        finally:
            for process in list(remaining):
                loop.remove_reader(process.sentinel)
                await asyncio.to_thread(process.join, WORKER_STOP_TIMEOUT_S)
                if process.exitcode is None:
                    log.warning("API worker %s did not stop in time: killed", process.name)
                    process.kill()
                    await asyncio.to_thread(process.join)

    def stop(self) -> None:
        """Ask every worker to finish its requests and end (SIGTERM)."""
        self._stopping = True
        for process in self._processes:
            if process.exitcode is None:
                process.terminate()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.pid is not None]


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: whoever runs it decides when it stops
    (the daemon after its loops; a worker on SIGTERM), instead of uvicorn re-raising the
    signal at exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def api_server(app: ASGIApp) -> _ApiServer:
    """The uvicorn server every face of the daemon runs (one process or a worker)."""
    return _ApiServer(uvicorn.Config(app, log_level="warning", lifespan="on"))


def serve_worker(spec: WorkerSpec, sock: socket.socket) -> None:
    """A worker process's body: serve until SIGTERM. SIGINT (Ctrl-C reaches the whole
    process group) is left to the daemon, which stops the workers after its loops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _log_to_stderr(spec.settings)
    try:
        asyncio.run(_serve(spec, sock))
    finally:
        sock.close()


async def _serve(spec: WorkerSpec, sock: socket.socket) -> None:
    # Here, not at the top: the daemon's module imports this one.
    from lnpilot.service.daemon import open_services

    health = HealthMirror(spec.health_file)
    async with open_services(
        spec.settings, follow_node=False, health=health, secret_key=spec.secret_key
    ) as services:
        server = api_server(spec.app_factory(services))

        def stop() -> None:
            server.should_exit = True

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop)
        await server.serve([sock])


def _log_to_stderr(settings: Settings) -> None:
    """A worker logs to the daemon's stderr, redacted, at ``log_level``; the log file stays
    the daemon's (a rotating file is not for several writers)."""
    from lnpilot.service.logs import RedactingFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter())
    logger = logging.getLogger("lnpilot")
    logger.setLevel(settings.log_level)
    logger.addHandler(handler)
