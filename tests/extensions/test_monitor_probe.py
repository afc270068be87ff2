"""The monitor's probe reads LNbits' installed extensions and their advisories for the
`lnbits_extension_insecure` rule (the rule itself is tested on a store in tests/monitor)."""

from __future__ import annotations

from lnpilot.devtools import LNbitsServer
from lnpilot.monitor.probe import read_extension_advisories
from lnpilot.node.lnbits_node import LNbitsNode

from .conftest import MakeClient


async def test_the_probe_reads_the_advisories_of_the_installed_extensions(
    ext_server: LNbitsServer, ext_client: MakeClient
) -> None:
    su = ext_server.superuser
    admin = ext_client(username=su.username, password=su.password)
    found = await read_extension_advisories(LNbitsNode(admin))
    assert found is not None
    assert {(a["extension"], a["verdict"], a["active"]) for a in found} == {
        ("lndhub", "affected", True),
        ("usermanager", "affected", True),
        ("boltz", "affected", True),
    }


async def test_without_an_admin_session_the_probe_says_nothing(
    ext_server: LNbitsServer, ext_client: MakeClient
) -> None:
    user = ext_server.create_account("no-admin")
    not_admin = ext_client(user, access_token="not-a-token")
    assert await read_extension_advisories(LNbitsNode(not_admin)) is None
