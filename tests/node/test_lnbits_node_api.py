"""The rest of LNbits' node API (``client.node``) on a real LNbits whose funding source is
our simulated node: the readiness check, the node's own payments and invoices, and the
public node page the super user can turn on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from lnpilot.devtools import LNbitsServer
from lnpilot.lnbits import LNbitsClient, LNbitsError
from lnpilot.lnbits.transport import TransportSettings

from .conftest import World

pytestmark = pytest.mark.lnbits


@pytest.fixture
async def su(lnbits_on_simnet: LNbitsServer) -> AsyncIterator[LNbitsClient]:
    s = lnbits_on_simnet.superuser
    async with LNbitsClient(
        lnbits_on_simnet.url,
        username=s.username,
        password=s.password,
        settings=TransportSettings(cache_ttl_s=0),
    ) as client:
        yield client


async def test_node_api_ready_and_its_transactions(world: World, su: LNbitsClient) -> None:
    assert await su.node.ok()
    for page in (await su.node.payments(limit=5), await su.node.invoices(limit=5)):
        print(page)
        assert page.total >= len(page.data)


async def test_public_node_page_only_when_turned_on(world: World, su: LNbitsClient) -> None:
    with pytest.raises(LNbitsError):
        await su.node.public_info()
    await su.admin.update_settings({"lnbits_public_node_ui": True})
    try:
        info = await su.node.public_info()
        print(info)
        assert info["id"] == (await su.node.info()).id
    finally:
        await su.admin.update_settings({"lnbits_public_node_ui": False})
