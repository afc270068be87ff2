"""The LNbits node API: info, channels, fees, peers, node payments (bearer, admin).

It exists only on funding sources with a node class (LND REST, CLN, Phoenixd) and when
``LNBITS_NODE_UI`` is on: the transport turns LNbits' 501 into
:class:`UnsupportedByBackendError` and its 503 into :class:`NodeUIDisabledError`.
Writes need the superuser.
"""

from __future__ import annotations

import builtins
from typing import Any

from lnpilot.lnbits.credentials import Credential
from lnpilot.lnbits.models import ChannelPoint, JsonObject, NodeChannel, NodeInfo, NodePeer
from lnpilot.lnbits.models import NodePaymentsPage as NodeTxPage
from lnpilot.lnbits.operations import operation
from lnpilot.lnbits.resources.base import Resource, list_params

B, NONE = Credential.BEARER, Credential.NONE
_N = ("node",)

INFO = operation("GET", "/node/api/v1/info", B, cache_scope="node")
OK = operation("GET", "/node/api/v1/ok", B)
PUBLIC_INFO = operation("GET", "/node/public/api/v1/info", NONE, cache_scope="node")
CHANNELS = operation("GET", "/node/api/v1/channels", B, cache_scope="node")
CHANNEL = operation("GET", "/node/api/v1/channels/{channel_id}", B, cache_scope="node")
SET_FEES = operation(
    "PUT", "/node/api/v1/channels/{channel_id}", B, idempotent=True, invalidates=_N
)
OPEN = operation("POST", "/node/api/v1/channels", B, invalidates=_N)
CLOSE = operation("DELETE", "/node/api/v1/channels", B, invalidates=_N)
PEERS = operation("GET", "/node/api/v1/peers", B, cache_scope="node")
CONNECT = operation("POST", "/node/api/v1/peers", B, idempotent=True, invalidates=_N)
DISCONNECT = operation("DELETE", "/node/api/v1/peers/{peer_id}", B, idempotent=True, invalidates=_N)
PAYMENTS = operation("GET", "/node/api/v1/payments", B)
INVOICES = operation("GET", "/node/api/v1/invoices", B)
RANK = operation("GET", "/node/api/v1/rank", B)
PUBLIC_RANK = operation("GET", "/node/public/api/v1/rank", NONE)
PHOENIXD_STATUS = operation("GET", "/node/api/v1/phoenixd/status", B)
PHOENIXD_LIQUIDITY_FEES = operation("GET", "/node/api/v1/phoenixd/liquidity-fees", B)
PHOENIXD_RECEIVE = operation("GET", "/node/api/v1/phoenixd/receive/{kind}", B)
PHOENIXD_SEND = operation("POST", "/node/api/v1/phoenixd/send", B, invalidates=_N)
PHOENIXD_CLOSE = operation("POST", "/node/api/v1/phoenixd/close", B, invalidates=_N)
PHOENIXD_BUMP = operation("POST", "/node/api/v1/phoenixd/bump", B, invalidates=_N)
PHOENIXD_EXPORT = operation("POST", "/node/api/v1/phoenixd/export", B)


class NodeResource(Resource):
    """The node behind LNbits, through LNbits."""

    async def info(self, *, bypass_cache: bool = False) -> NodeInfo:
        return NodeInfo.model_validate(await self._t.request(INFO, bypass_cache=bypass_cache))

    async def public_info(self) -> JsonObject:
        result: JsonObject = await self._t.request(PUBLIC_INFO)
        return result

    async def ok(self) -> bool:
        """Whether the node API is usable on this LNbits."""
        await self._t.request(OK)
        return True

    async def channels(self, *, bypass_cache: bool = False) -> list[NodeChannel]:
        """Open, pending and closed channels in one list (see ``NodeChannel.state``)."""
        body = await self._t.request(CHANNELS, bypass_cache=bypass_cache)
        return [NodeChannel.model_validate(c) for c in body or []]

    async def channel(self, channel_id: str) -> NodeChannel | None:
        body = await self._t.request(CHANNEL, path_params={"channel_id": channel_id})
        return NodeChannel.model_validate(body) if body else None

    async def set_fees(
        self, channel_id: str, *, fee_ppm: int | None = None, fee_base_msat: int | None = None
    ) -> None:
        """Outbound fee rate and base of one channel (LNbits exposes nothing more)."""
        if fee_ppm is None and fee_base_msat is None:
            raise ValueError("give fee_ppm, fee_base_msat or both")
        for name, value in (("fee_ppm", fee_ppm), ("fee_base_msat", fee_base_msat)):
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        body = {"fee_ppm": fee_ppm, "fee_base_msat": fee_base_msat}
        await self._t.request(
            SET_FEES,
            path_params={"channel_id": channel_id},
            json={k: v for k, v in body.items() if v is not None},
        )

    async def open_channel(
        self,
        peer_id: str,
        funding_amount_sat: int,
        *,
        push_amount_sat: int | None = None,
        fee_rate_sat_per_vbyte: int | None = None,
    ) -> ChannelPoint:
        """Open a channel; not retried after it may have reached LNbits (it spends on-chain)."""
        if funding_amount_sat <= 0:
            raise ValueError("funding_amount_sat must be > 0")
        body = {
            "peer_id": peer_id,
            "funding_amount": funding_amount_sat,
            "push_amount": push_amount_sat,
            "fee_rate": fee_rate_sat_per_vbyte,
        }
        answer = await self._t.request(OPEN, json={k: v for k, v in body.items() if v is not None})
        return ChannelPoint.model_validate(answer)

    async def close_channel(
        self,
        short_id: str,
        *,
        point: ChannelPoint | None = None,
        force: bool = False,
    ) -> builtins.list[NodeChannel]:
        """Close a channel.

        LNbits 1.6.2 requires ``short_id`` on every close (CLN closes by it); its LND path
        closes by channel point, so give ``point`` too when the funding source is LND.
        """
        if not short_id:
            raise ValueError("short_id is required by LNbits to close a channel")
        params: dict[str, Any] = {"short_id": short_id, "force": str(force).lower()}
        if point is not None:
            params["funding_txid"] = point.funding_txid
            params["output_index"] = point.output_index
        body = await self._t.request(CLOSE, params=params)
        return [NodeChannel.model_validate(c) for c in body or []]

    async def peers(self) -> list[NodePeer]:
        return [NodePeer.model_validate(p) for p in await self._t.request(PEERS)]

    async def connect_peer(self, uri: str) -> None:
        """Connect to ``pubkey@host:port``."""
        if "@" not in uri:
            raise ValueError("peer uri must be pubkey@host:port")
        await self._t.request(CONNECT, json={"uri": uri})

    async def disconnect_peer(self, peer_id: str) -> None:
        await self._t.request(DISCONNECT, path_params={"peer_id": peer_id})

    async def payments(self, *, limit: int = 50, offset: int = 0) -> NodeTxPage:
        """Payments the node made (needs ``LNBITS_NODE_UI_TRANSACTIONS``)."""
        body = await self._t.request(PAYMENTS, params=list_params(limit=limit, offset=offset))
        return NodeTxPage.model_validate(body)

    async def invoices(self, *, limit: int = 50, offset: int = 0) -> NodeTxPage:
        body = await self._t.request(INVOICES, params=list_params(limit=limit, offset=offset))
        return NodeTxPage.model_validate(body)

    async def rank(self, *, public: bool = False) -> JsonObject | None:
        """Node ranking (LNbits asks an internet service; None when it cannot)."""
        result: JsonObject | None = await self._t.request(PUBLIC_RANK if public else RANK)
        return result

    # Phoenixd-only operations: on other funding sources LNbits answers 501.

    async def phoenixd_status(self) -> JsonObject:
        result: JsonObject = await self._t.request(PHOENIXD_STATUS)
        return result

    async def phoenixd_liquidity_fees(self, amount_sat: int) -> JsonObject:
        result: JsonObject = await self._t.request(
            PHOENIXD_LIQUIDITY_FEES, params={"amount_sat": amount_sat}
        )
        return result

    async def phoenixd_receive(self, kind: str) -> str:
        if kind not in ("swapin", "offer", "lnaddress"):
            raise ValueError("kind must be swapin, offer or lnaddress")
        body = await self._t.request(PHOENIXD_RECEIVE, path_params={"kind": kind})
        return str(body["value"])

    async def phoenixd_send(self, **body: Any) -> JsonObject:
        result: JsonObject = await self._t.request(PHOENIXD_SEND, json=body)
        return result

    async def phoenixd_close(self, **body: Any) -> JsonObject:
        result: JsonObject = await self._t.request(PHOENIXD_CLOSE, json=body)
        return result

    async def phoenixd_bump(self, **body: Any) -> JsonObject:
        result: JsonObject = await self._t.request(PHOENIXD_BUMP, json=body)
        return result

    async def phoenixd_export(self) -> JsonObject:
        result: JsonObject = await self._t.request(PHOENIXD_EXPORT)
        return result
