"""The unified LNbits client: one object, resources as attributes.

    async with LNbitsClient("http://127.0.0.1:5000", invoice_key=..., admin_key=...) as c:
        wallet = await c.wallet.get()
        invoice = await c.payments.create_invoice(1000, memo="coffee")

Each resource method uses the weakest credential that can do its call and fails before
sending anything when that credential was not given.
"""

from __future__ import annotations

from types import TracebackType

import httpx

from lnpilot.lnbits.credentials import Credentials
from lnpilot.lnbits.resources.admin import AdminResource
from lnpilot.lnbits.resources.auth import AuthResource
from lnpilot.lnbits.resources.boltz import BoltzResource
from lnpilot.lnbits.resources.core import CoreResource
from lnpilot.lnbits.resources.extensions import ExtensionsResource
from lnpilot.lnbits.resources.lndhub import LndhubResource
from lnpilot.lnbits.resources.lnurl import LnurlResource
from lnpilot.lnbits.resources.node import NodeResource
from lnpilot.lnbits.resources.payments import PaymentsResource
from lnpilot.lnbits.resources.tinyurl import TinyurlResource
from lnpilot.lnbits.resources.usermanager import UserManagerResource
from lnpilot.lnbits.resources.users import UsersResource
from lnpilot.lnbits.resources.wallet import WalletResource
from lnpilot.lnbits.resources.webpush import WebpushResource
from lnpilot.lnbits.stream import PaymentStream
from lnpilot.lnbits.transport import Transport, TransportSettings


class LNbitsClient:
    """A client for one LNbits server and one set of credentials."""

    def __init__(
        self,
        url: str,
        *,
        invoice_key: str | None = None,
        admin_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        access_token: str | None = None,
        settings: TransportSettings | None = None,
        pay_timeout_s: float = 60.0,
        resolve_deadline_s: float = 60.0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"LNbits url must start with http:// or https://, got {url!r}")
        self.credentials = Credentials(
            invoice_key=invoice_key,
            admin_key=admin_key,
            username=username,
            password=password,
            access_token=access_token,
        )
        self.transport = Transport(url, self.credentials, settings, http_client=http_client)
        self.wallet = WalletResource(self.transport)
        self.payments = PaymentsResource(
            self.transport, pay_timeout_s=pay_timeout_s, resolve_deadline_s=resolve_deadline_s
        )
        self.lnurl = LnurlResource(self.transport, self.payments)
        self.users = UsersResource(self.transport)
        self.node = NodeResource(self.transport)
        self.extensions = ExtensionsResource(self.transport)
        self.core = CoreResource(self.transport)
        self.auth = AuthResource(self.transport)
        self.admin = AdminResource(self.transport)
        self.tinyurl = TinyurlResource(self.transport)
        self.webpush = WebpushResource(self.transport)
        # The LNbits extensions, on the same transport and credentials.
        self.lndhub = LndhubResource(self.transport, self.payments)
        self.usermanager = UserManagerResource(self.transport)
        self.boltz = BoltzResource(self.transport)
        self.stream = PaymentStream(
            self.transport.base_url, self.payments, invoice_key or admin_key
        )

    def __repr__(self) -> str:
        return f"LNbitsClient({self.transport.base_url!r}, {self.credentials!r})"

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> LNbitsClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
