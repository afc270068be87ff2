"""A JSON-over-HTTP server on 127.0.0.1 in a thread: the one scaffold of the devtools stand-ins.

The LNURL service and the Boltz stand-in each answered JSON from a handler, ran a
``ThreadingHTTPServer`` on a free port and stopped it the same way; this is that code once.
The owner keeps the logic (``handle``) and its own record of calls; this keeps the socket.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: ``handle(method, path, body)`` -> ``(status, payload)``, or ``(status, payload, headers)``
#: for an answer that needs headers of its own (``Retry-After``). ``path`` is the raw request
#: target (query included); ``body`` is the decoded JSON body of a POST, ``None`` for GET.
JsonHandler = Callable[[str, str, Any], tuple[int, Any] | tuple[int, Any, Mapping[str, str]]]


class JsonHttpServer:
    """Serves ``handle`` for the given methods (GET, POST); others get 501, as the standard
    library answers a method a handler does not define."""

    def __init__(self, name: str, handle: JsonHandler, methods: Collection[str] = ("GET",)) -> None:
        unknown = set(methods) - {"GET", "POST"}
        if unknown:
            raise ValueError(f"{name}: cannot serve {sorted(unknown)}; allowed: GET, POST")
        self.name = name
        self._handle = handle
        self._methods = frozenset(methods)
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        handle, methods = self._handle, self._methods

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve("GET", None)

            def do_POST(self) -> None:
                if "POST" not in methods:
                    self._serve("POST", None)
                    return
                length = int(self.headers.get("content-length") or 0)
                self._serve("POST", json.loads(self.rfile.read(length) or b"null"))

            def _serve(self, method: str, body: Any) -> None:
                if method not in methods:
                    self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({method!r})")
                    return
                status, payload, *extra = handle(method, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the owner keeps its own record of calls."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        """Stop serving and free the port; stopping a stopped server does nothing."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self.name} is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"
