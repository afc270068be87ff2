"""Clients for a test's LNbits: built from a wallet's keys, all closed when the test ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from lnpilot.devtools.lnbits_server import WalletKeys
from lnpilot.lnbits import LNbitsClient

MakeClient = Callable[..., LNbitsClient]


@contextlib.asynccontextmanager
async def client_factory(url: str) -> AsyncIterator[MakeClient]:
    """``build(keys, admin=True, **client_kwargs)``: a client with the wallet's invoice key
    (and admin key unless ``admin=False``); ``url=`` points one elsewhere (a proxy)."""
    made: list[LNbitsClient] = []

    def build(
        keys: WalletKeys | None = None, *, admin: bool = True, **kwargs: object
    ) -> LNbitsClient:
        if keys is not None:
            kwargs.setdefault("invoice_key", keys.inkey)
            if admin:
                kwargs.setdefault("admin_key", keys.adminkey)
        target = str(kwargs.pop("url", url))
        client = LNbitsClient(target, **kwargs)  # type: ignore[arg-type]
        made.append(client)
        return client

    try:
        yield build
    finally:
        for client in made:
            await client.aclose()
