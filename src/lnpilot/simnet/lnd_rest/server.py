"""Run the LND REST face with uvicorn in a background thread, on a port we already hold.

A thread (not a subprocess) because the face must share memory with the simulation it
serves; binding the socket before uvicorn starts means the URL is known, and the port truly
ours, before the first request, with no "find a free port, hope nobody takes it" race.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from lnpilot.simnet.lnd_rest.app import create_app
from lnpilot.simnet.our_node import OurNode

_START_TIMEOUT_S = 10.0
#: How long an idle kept-alive connection stays open (LND itself sets no limit).
KEEP_ALIVE_S = 600


class FaceServer:
    """One uvicorn server for an ASGI app, started and stopped from the calling thread."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        # Naming IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted connections: without
        # it uvicorn's two-segment answers wait for the client's delayed ACK (~40 ms each).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            # LND's REST proxy keeps idle connections open; uvicorn's 5 s default would
            # close them just as clients reuse them (httpx keeps them 5 s too).
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL for ``LND_REST_ENDPOINT`` (plain http: the face has no TLS)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaceServer:
        """Start serving (once; later calls are no-ops); returns when connections are accepted."""
        if self._thread.ident is not None:
            return self
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"LND REST face did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving; open streams (invoice subscriptions) are cut."""
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(timeout=_START_TIMEOUT_S)
        self._sock.close()

    def __enter__(self) -> FaceServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    our_node: OurNode,
    macaroon_hex: str,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    lock: threading.RLock | None = None,
) -> FaceServer:
    """Serve `our_node`'s LND REST face in a background thread; `.url` says where.

    Port 0 takes a free port. Call `.stop()` (or use the result as a context manager) to end.
    """
    return FaceServer(create_app(our_node, macaroon_hex, lock=lock), host, port).start()
