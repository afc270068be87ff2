"""Extension management: list, enable and disable per user, activate and install (admin).

Installing downloads an archive named by a manifest; on a machine without internet an
extension must instead be placed in LNbits' extensions folder before start, after which
each user still has to enable it (its routes answer 403 until then).
"""

from __future__ import annotations

import builtins
from datetime import datetime

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.models import AvailableExtension, Extension, JsonObject, LNbitsModel
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource

B = Credential.BEARER
_E = ("extensions",)

LIST_USER = operation("GET", "/api/v1/extension", B, cache_scope="extensions")
LIST_ALL = operation("GET", "/api/v1/extension/all", B, cache_scope="extensions")
DETAILS = operation("GET", "/api/v1/extension/{ext_id}/details", B)
RELEASES = operation("GET", "/api/v1/extension/{ext_id}/releases", B)
ENABLE = operation("PUT", "/api/v1/extension/{ext_id}/enable", B, idempotent=True, invalidates=_E)
DISABLE = operation("PUT", "/api/v1/extension/{ext_id}/disable", B, idempotent=True, invalidates=_E)
ACTIVATE = operation(
    "PUT", "/api/v1/extension/{ext_id}/activate", B, idempotent=True, invalidates=_E
)
DEACTIVATE = operation(
    "PUT", "/api/v1/extension/{ext_id}/deactivate", B, idempotent=True, invalidates=_E
)
#: Sets the price to the same values each time: safe to resend.
SELL = operation("PUT", "/api/v1/extension/{ext_id}/sell", B, idempotent=True, invalidates=_E)
#: A new invoice on every call: never resent.
ENABLE_INVOICE = operation("PUT", "/api/v1/extension/{ext_id}/invoice/enable", B)
WASM_INVOCATIONS = operation("GET", "/api/v1/extension/wasm/invocations", B)
WASM_STATS = operation("GET", "/api/v1/extension/wasm/invocations/stats", B)
INSTALL = operation("POST", "/api/v1/extension", B, invalidates=_E)
UNINSTALL = operation("DELETE", "/api/v1/extension/{ext_id}", B, idempotent=True, invalidates=_E)


class EnableInvoice(LNbitsModel):
    """The invoice a user pays to enable a priced extension (to the admin's wallet)."""

    payment_hash: str
    payment_request: str


class WasmInvocation(LNbitsModel):
    """One call into a WASM extension, as LNbits keeps it."""

    id: str
    extension_id: str
    export_name: str
    trigger_type: str = "unknown"
    status: str = "running"
    started_at: datetime
    finished_at: datetime | None = None
    duration_ms: int | None = None


class WasmStats(LNbitsModel):
    """``GET /api/v1/extension/wasm/invocations/stats``: WASM extension calls by outcome."""

    total: int
    running: int
    completed: int
    failed: int
    stopped: int
    timeout: int
    avg_duration_ms: float
    max_duration_ms: int


class ExtensionsResource(Resource):
    async def list(self) -> builtins.list[Extension]:
        """Extensions the logged-in user has enabled (LNbits answers with their ``code``)."""
        return [Extension.model_validate(e) for e in await self._t.request(LIST_USER)]

    async def list_all(self) -> builtins.list[AvailableExtension]:
        """Every extension this LNbits knows (installed or from its manifests), with the
        installed release's version."""
        return [AvailableExtension.model_validate(e) for e in await self._t.request(LIST_ALL)]

    async def details(self, ext_id: str, details_link: str) -> JsonObject:
        """A release's description, fetched by LNbits from ``details_link`` (one of
        :meth:`releases`' links); a link no release of ``ext_id`` names is not found."""
        result: JsonObject = await self._t.request(
            DETAILS, path_params={"ext_id": ext_id}, params={"details_link": details_link}
        )
        return result

    async def set_price(
        self, ext_id: str, *, amount_sat: int, wallet_id: str, required: bool = True
    ) -> None:
        """Charge users ``amount_sat`` (paid to ``wallet_id``, one of the admin's wallets)
        to enable an installed extension; ``required=False`` makes it free again. Admins
        themselves never pay."""
        if amount_sat < 0 or (required and amount_sat == 0):
            raise ValueError(f"amount_sat must be >= 1 when required, got {amount_sat}")
        await self._t.request(
            SELL,
            path_params={"ext_id": ext_id},
            json={"amount": amount_sat, "required": required, "wallet": wallet_id},
        )

    async def enable_invoice(self, ext_id: str, amount_sat: int) -> EnableInvoice:
        """An invoice to pay before :meth:`enable` of a priced extension succeeds (the
        logged-in user's); ``amount_sat`` must be at least the price."""
        if amount_sat < 1:
            raise ValueError(f"amount_sat must be >= 1, got {amount_sat}")
        body = await self._t.request(
            ENABLE_INVOICE, path_params={"ext_id": ext_id}, json={"amount": amount_sat}
        )
        return EnableInvoice.model_validate(body)

    async def wasm_invocations(
        self, *, ext_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> builtins.list[WasmInvocation]:
        """The latest WASM extension calls (admin), e.g. ``status="failed"`` ones."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        params = {"extension_id": ext_id, "status": status, "limit": limit}
        body = await self._t.request(
            WASM_INVOCATIONS, params={k: v for k, v in params.items() if v is not None}
        )
        return [WasmInvocation.model_validate(i) for i in body]

    async def wasm_stats(self, *, ext_id: str | None = None, hours: int = 24) -> WasmStats:
        """How the WASM extensions' calls went over the last ``hours`` (admin): failures
        and timeouts here are why such an extension stops answering."""
        if hours < 1:
            raise ValueError(f"hours must be >= 1, got {hours}")
        params: dict[str, str | int] = {"hours": hours}
        if ext_id:
            params["extension_id"] = ext_id
        return WasmStats.model_validate(await self._t.request(WASM_STATS, params=params))

    async def releases(self, ext_id: str) -> builtins.list[JsonObject]:
        result: builtins.list[JsonObject] = await self._t.request(
            RELEASES, path_params={"ext_id": ext_id}
        )
        return result

    async def enable(self, ext_id: str) -> None:
        """Enable an installed extension for the logged-in user."""
        await self._t.request(ENABLE, path_params={"ext_id": ext_id})

    async def disable(self, ext_id: str) -> None:
        await self._t.request(DISABLE, path_params={"ext_id": ext_id})

    async def activate(self, ext_id: str) -> None:
        """Make an installed extension available to users (admin)."""
        await self._t.request(ACTIVATE, path_params={"ext_id": ext_id})

    async def deactivate(self, ext_id: str) -> None:
        await self._t.request(DEACTIVATE, path_params={"ext_id": ext_id})

    async def install(self, ext_id: str, *, archive: str, source_repo: str, version: str) -> None:
        """Install from a manifest's release (archive URL); needs internet on LNbits' side."""
        await self._t.request(
            INSTALL,
            json={
                "ext_id": ext_id,
                "archive": archive,
                "source_repo": source_repo,
                "version": version,
            },
        )

    async def uninstall(self, ext_id: str) -> None:
        await self._t.request(UNINSTALL, path_params={"ext_id": ext_id})
