"""An httpx transport that calls an ASGI app in-process, streaming answers as they come.

httpx's own ``ASGITransport`` waits for the app to finish before it returns a response,
so an endless stream (LND's ``/v2/router/htlcevents``) would never answer. Here the app
runs as a task of the caller's event loop and the response's body is read from a queue
the app's ``send`` fills: ordinary requests and never-ending streams both work, with no
socket, no thread and no server between the production client and the app.

The transport counts the lines each path's streams have handed to their reader, and a
line counts only once the reader has asked for what follows it (so it has been dealt
with): :meth:`InProcessTransport.lines_read` is how the lab knows that every HTLC event
the simulation emitted has reached the node backend, without waiting on a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
from starlette.types import ASGIApp

#: The end of a body, as queued.
_END = b""


class _Body(httpx.AsyncByteStream):
    """A response body fed by the app's ``send``; closing it ends the app's task."""

    def __init__(
        self,
        chunks: asyncio.Queue[bytes | BaseException],
        task: asyncio.Task[None],
        path: str,
        lines: Counter[str],
    ) -> None:
        self._chunks = chunks
        self._task = task
        self._path = path
        self._lines = lines

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self._chunks.get()
            if isinstance(chunk, BaseException):
                raise httpx.ReadError(f"the app failed: {chunk!r}") from chunk
            if chunk == _END:
                return
            yield chunk
            self._lines[self._path] += chunk.count(b"\n")

    async def aclose(self) -> None:
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class InProcessTransport(httpx.AsyncBaseTransport):
    """Requests to `app` as calls on the running event loop (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._lines: Counter[str] = Counter()

    def lines_read(self, path: str) -> int:
        """Lines of `path`'s stream answers their readers have dealt with, over all calls."""
        return self._lines[path]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": ("127.0.0.1", 0),
            "root_path": "",
        }
        started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = (
            asyncio.get_running_loop().create_future()
        )
        chunks: asyncio.Queue[bytes | BaseException] = asyncio.Queue()
        sent_request = False
        finished = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.set_result((message["status"], list(message.get("headers", []))))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk:
                    chunks.put_nowait(chunk)
                if not message.get("more_body", False):
                    chunks.put_nowait(_END)
                    finished.set()

        async def call() -> None:
            try:
                await self._app(scope, receive, send)
            except Exception as exc:
                if not started.done():
                    started.set_exception(exc)
                chunks.put_nowait(exc)
            finally:
                finished.set()

        task = asyncio.create_task(call(), name=f"asgi {request.method} {request.url.path}")
        try:
            status, headers = await started
        except BaseException:
            task.cancel()
            raise
        return httpx.Response(
            status, headers=headers, stream=_Body(chunks, task, request.url.path, self._lines)
        )
