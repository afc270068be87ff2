"""A node backend through LNbits' node API: what an operator has when LNbits is all there is.

LNbits (1.6.2) shows the node behind its funding source at ``/node/api/v1``: info (with the
on-chain balance), channels (open, pending and closed in one list), peers, outbound fee
updates, opening and closing channels, connecting peers. That is all this backend declares.
LNbits has no forwarding history, HTLC events, inbound fees, HTLC limits, CLTV control,
channel disable, routes or backups; for those lnpilot needs :class:`~lnpilot.node.lnd_rest.LndRest`.

Limits worth knowing, all from LNbits' LND path (``lnbits/nodes/lndrest.py``):

- A fee update always sends ``time_lock_delta: 80`` to LND: it resets a CLTV delta set
  otherwise. Put the LND backend first in a composite when both are configured.
- LNbits needs both fee fields in an update, so a change of one resends the other as read.
- Reading fees costs one call per channel (LNbits reads the graph edge for each), and
  LNbits rate-limits at 200 requests per minute by default.
- Closing channels in LNbits' list mix two things: a pending close (waiting or force
  closing, no channel id: LNbits writes a placeholder text there) and a finished close
  (numeric channel id). The close type, initiators and settled balance are not shown.
- Closing is fire-and-forget in LNbits, so no closing txid comes back.

Errors of the LNbits client come out as :class:`~lnpilot.node.backend.NodeError` (the
original is the ``__cause__``), so the engine handles every backend's failures alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any, ParamSpec, TypeVar

from lnpilot.base.domain import (
    Channel,
    ChannelPolicy,
    ChannelState,
    ClosedChannel,
    CloseType,
    Initiator,
    NodeInfo,
    OnchainBalance,
    Peer,
    PolicyUpdate,
    scid_from_chan_id,
)
from lnpilot.lnbits import LNbitsClient, LNbitsError
from lnpilot.lnbits.advisories import AdvisoryFinding, check_extensions
from lnpilot.lnbits.models import ChannelPoint, NodeChannel
from lnpilot.node.backend import (
    LNBITS_CAPABILITIES,
    LND_REST_HINT,
    NodeBackend,
    NodeError,
    check_policy_update,
)

_P = ParamSpec("_P")
_T = TypeVar("_T")

_OPEN_STATES = {"active": ChannelState.ACTIVE, "inactive": ChannelState.INACTIVE}


def _lnbits_errors(
    method: Callable[_P, Coroutine[Any, Any, _T]],
) -> Callable[_P, Coroutine[Any, Any, _T]]:
    """Re-raise the LNbits client's errors as NodeError, the one type the engine catches."""

    @functools.wraps(method)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(*args, **kwargs)
        except LNbitsError as exc:
            raise NodeError(f"LNbits node API: {exc}", backend=LNbitsNode.name) from exc

    return wrapper


def _chan_id(listed: NodeChannel) -> int | None:
    """LNbits' channel id when it is LND's numeric one; pending rows carry a placeholder."""
    return int(listed.id) if listed.id is not None and listed.id.isdigit() else None


def _channel(listed: NodeChannel, state: ChannelState) -> Channel:
    chan_id = _chan_id(listed) if state in _OPEN_STATES.values() else None
    return Channel(
        scid=scid_from_chan_id(chan_id) if chan_id is not None else None,
        chan_id=chan_id,
        channel_point=str(listed.point) if listed.point else "",
        peer_pubkey=listed.peer_id,
        capacity_sat=listed.balance.total_msat // 1000,
        local_balance_msat=listed.balance.local_msat,
        remote_balance_msat=listed.balance.remote_msat,
        state=state,
        peer_alias=listed.name or None,
        opened_at_height=chan_id >> 40 if chan_id is not None else None,
    )


class LNbitsNode(NodeBackend):
    """The node behind an LNbits server; `client` needs the superuser's credentials.

    The client is shared, not owned: closing this backend leaves it open. Reads go through
    the client's short read cache, so one collector cycle that lists open, pending and
    closed channels costs LNbits one channel listing.
    """

    name = "lnbits"
    capabilities = LNBITS_CAPABILITIES

    def __init__(self, client: LNbitsClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"LNbitsNode({self._client.transport.base_url!r})"

    @_lnbits_errors
    async def get_info(self) -> NodeInfo:
        info = await self._client.node.info()
        if info.blockheight is None:
            raise NodeError("LNbits did not report the block height", backend=self.name)
        return NodeInfo(
            pubkey=info.id,
            alias=info.alias,
            block_height=info.blockheight,
            num_active_channels=info.channel_stats.counts.get("active", 0),
            num_peers=info.num_peers,
            uris=tuple(info.addresses),
        )

    @_lnbits_errors
    async def extension_advisories(self) -> list[AdvisoryFinding]:
        """Installed extensions with a known security problem (the monitor's probe asks; the
        `lnbits_extension_insecure` rule judges). Same admin session as the node API."""
        return check_extensions(await self._client.extensions.list_all())

    @_lnbits_errors
    async def onchain_balance(self) -> OnchainBalance:
        info = await self._client.node.info()
        return OnchainBalance(
            total_sat=info.onchain_balance_sat, confirmed_sat=info.onchain_confirmed_sat
        )

    @_lnbits_errors
    async def list_channels(self) -> list[Channel]:
        return [
            _channel(c, _OPEN_STATES[c.state])
            for c in await self._client.node.channels()
            if c.state in _OPEN_STATES
        ]

    @_lnbits_errors
    async def list_pending_channels(self) -> list[Channel]:
        pending: list[Channel] = []
        for c in await self._client.node.channels():
            if c.state == "pending":
                pending.append(_channel(c, ChannelState.PENDING_OPEN))
            elif c.state == "closed" and _chan_id(c) is None:
                pending.append(_channel(c, ChannelState.PENDING_CLOSE))
        return pending

    @_lnbits_errors
    async def list_closed_channels(self) -> list[ClosedChannel]:
        closed: list[ClosedChannel] = []
        for c in await self._client.node.channels():
            chan_id = _chan_id(c)
            if c.state != "closed" or chan_id is None:
                continue
            closed.append(
                ClosedChannel(
                    scid=scid_from_chan_id(chan_id) if chan_id else None,
                    chan_id=chan_id or None,
                    channel_point=str(c.point) if c.point else "",
                    peer_pubkey=c.peer_id,
                    capacity_sat=c.balance.total_msat // 1000,
                    settled_balance_sat=None,
                    close_type=CloseType.UNKNOWN,
                    open_initiator=Initiator.UNKNOWN,
                    close_initiator=Initiator.UNKNOWN,
                )
            )
        return closed

    @_lnbits_errors
    async def list_peers(self) -> list[Peer]:
        return [
            Peer(
                pubkey=p.id, alias=p.alias or None, address=p.addresses[0] if p.addresses else None
            )
            for p in await self._client.node.peers()
        ]

    async def _own_fees(self, chan_id: int) -> ChannelPolicy | None:
        listed = await self._client.node.channel(str(chan_id))
        if listed is None or listed.fee_ppm is None or listed.fee_base_msat is None:
            return None
        return ChannelPolicy(base_fee_msat=listed.fee_base_msat, fee_rate_ppm=listed.fee_ppm)

    @_lnbits_errors
    async def get_policies(self, channels: Sequence[Channel]) -> list[Channel]:
        """Our outbound fees only (the rest of ``local_policy`` is None, ``remote_policy`` too).

        One LNbits call per channel, one after the other: LNbits itself makes four LND calls
        for each, and its rate limit would punish a burst.
        """
        filled: list[Channel] = []
        for channel in channels:
            local = await self._own_fees(channel.chan_id) if channel.chan_id is not None else None
            filled.append(replace(channel, local_policy=local) if local else channel)
        return filled

    @_lnbits_errors
    async def update_policy(self, channel: Channel, update: PolicyUpdate) -> None:
        """Outbound fees through LNbits, which also sets LND's CLTV delta to 80 (see above)."""
        check_policy_update(self, update)
        if channel.chan_id is None:
            raise ValueError(f"channel {channel.channel_point} has no channel id yet")
        base, rate = update.base_fee_msat, update.fee_rate_ppm
        if base is None or rate is None:
            current = await self._own_fees(channel.chan_id)
            if current is None:
                raise NodeError(
                    f"LNbits does not show the current fees of {channel.scid}", backend=self.name
                )
            base = current.base_fee_msat if base is None else base
            rate = current.fee_rate_ppm if rate is None else rate
        await self._client.node.set_fees(str(channel.chan_id), fee_ppm=rate, fee_base_msat=base)

    @_lnbits_errors
    async def open_channel(
        self,
        peer_pubkey: str,
        local_amount_sat: int,
        *,
        push_amount_sat: int = 0,
        sat_per_vbyte: int | None = None,
        remote_reserve_sat: int | None = None,
    ) -> str:
        if remote_reserve_sat is not None:
            # LNbits' open takes no reserve: say so rather than open with the node's own.
            raise ValueError(
                "the LNbits node API cannot set the reserve asked of the peer; leave it to "
                f"the node or use {LND_REST_HINT}"
            )
        point = await self._client.node.open_channel(
            peer_pubkey,
            local_amount_sat,
            push_amount_sat=push_amount_sat or None,
            fee_rate_sat_per_vbyte=sat_per_vbyte,
        )
        return str(point)

    @_lnbits_errors
    async def close_channel(
        self, channel: Channel, *, force: bool = False, sat_per_vbyte: int | None = None
    ) -> str | None:
        if sat_per_vbyte is not None:
            # LNbits' close takes no fee rate: say so rather than close at another one.
            raise ValueError(
                "the LNbits node API cannot set a close's fee rate; leave it to the node "
                f"or use {LND_REST_HINT}"
            )
        txid, _, index = channel.channel_point.rpartition(":")
        point = ChannelPoint(funding_txid=txid, output_index=int(index))
        # LNbits 1.6.2 insists on short_id (CLN closes by it; its LND path only logs it).
        short_id = channel.scid or channel.channel_point
        await self._client.node.close_channel(short_id=short_id, point=point, force=force)
        return None

    @_lnbits_errors
    async def connect_peer(self, pubkey: str, host: str) -> None:
        await self._client.node.connect_peer(f"{pubkey}@{host}")

    @_lnbits_errors
    async def disconnect_peer(self, pubkey: str) -> None:
        await self._client.node.disconnect_peer(pubkey)
