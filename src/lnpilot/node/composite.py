"""One node backend made of the configured ones: each operation goes where it can be done.

An operator may configure LNbits only, LND REST only, or both. The engine should not care:
it calls one :class:`CompositeNode`, which sends each operation to the first backend, in the
configured order of preference, that declares the capability the operation needs, and
raises :class:`~lnpilot.node.backend.CapabilityMissing` (naming the configuration that
would add it) when none does.

Two operations choose with more care:

- ``get_policies`` prefers a backend that reads full policies (``READ_POLICIES``) and falls
  back to one that reads only our outbound fees (``READ_OWN_FEES``, LNbits), so an
  LNbits-only setup still sees its fees while a setup with LND gets everything.
- ``update_policy`` goes, whole, to the first backend that can set every field the update
  touches (``PolicyUpdate.needed_capabilities()``). It is never split between backends
  (outbound fee through LNbits, inbound through LND): two writes are not atomic, each sends
  its own gossip update, and LND's policy call rewrites the outbound fee anyway, so a split
  would be slower and riskier with nothing gained.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime

from lnpilot.base.domain import (
    Capability,
    Channel,
    ChannelBackup,
    ChannelPolicy,
    ClosedChannel,
    FailedForward,
    FeeEstimate,
    Forward,
    Graph,
    NodeInfo,
    OnchainBalance,
    OwnInvoice,
    Peer,
    PendingHtlc,
    PolicyUpdate,
    Route,
    RouteAttempt,
)
from lnpilot.node.backend import (
    OPERATION_NEEDS,
    CapabilityMissing,
    NodeBackend,
    NodeError,
)


class CompositeNode(NodeBackend):
    """The configured backends, most preferred first (put LND before LNbits: see lnbits_node)."""

    name = "composite"

    def __init__(self, backends: Sequence[NodeBackend]) -> None:
        if not backends:
            raise ValueError("configure at least one node backend ([lnd] or [lnbits])")
        self.backends = tuple(backends)
        self.capabilities = frozenset().union(*(b.capabilities for b in self.backends))

    def __repr__(self) -> str:
        return f"CompositeNode({', '.join(b.name for b in self.backends)})"

    def backend_for(self, *capabilities: Capability, operation: str) -> NodeBackend:
        """The first backend that has all `capabilities`, or CapabilityMissing."""
        needed = set(capabilities)
        for backend in self.backends:
            if needed <= backend.capabilities:
                return backend
        missing = needed - self.capabilities
        if not missing:
            raise NodeError(
                f"{operation}: no single configured backend offers "
                f"{', '.join(sorted(needed))} together; split the request",
                backend=self.name,
            )
        raise CapabilityMissing(
            missing, operation=operation, configured=[b.name for b in self.backends]
        )

    def _for(self, operation: str) -> NodeBackend:
        return self.backend_for(OPERATION_NEEDS[operation], operation=operation)

    async def start(self) -> None:
        for backend in self.backends:
            await backend.start()

    async def aclose(self) -> None:
        for backend in self.backends:
            await backend.aclose()

    async def get_info(self) -> NodeInfo:
        return await self._for("get_info").get_info()

    async def list_channels(self) -> list[Channel]:
        return await self._for("list_channels").list_channels()

    async def list_pending_channels(self) -> list[Channel]:
        return await self._for("list_pending_channels").list_pending_channels()

    async def list_closed_channels(self) -> list[ClosedChannel]:
        return await self._for("list_closed_channels").list_closed_channels()

    async def list_peers(self) -> list[Peer]:
        return await self._for("list_peers").list_peers()

    async def get_policies(self, channels: Sequence[Channel]) -> list[Channel]:
        """Full policies when a backend reads them, else our outbound fees (see module doc)."""
        full, fees_only = Capability.READ_POLICIES, Capability.READ_OWN_FEES
        partial = full not in self.capabilities and fees_only in self.capabilities
        backend = self.backend_for(fees_only if partial else full, operation="get_policies")
        return await backend.get_policies(channels)

    async def forwarding_history(
        self,
        *,
        index_offset: int = 0,
        max_events: int = 1000,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> tuple[list[Forward], int]:
        return await self._for("forwarding_history").forwarding_history(
            index_offset=index_offset,
            max_events=max_events,
            start_time=start_time,
            end_time=end_time,
        )

    async def failed_forwards(self, since: datetime) -> list[FailedForward]:
        return await self._for("failed_forwards").failed_forwards(since)

    async def pending_htlcs(self) -> list[PendingHtlc]:
        return await self._for("pending_htlcs").pending_htlcs()

    async def describe_graph(self) -> Graph:
        return await self._for("describe_graph").describe_graph()

    async def policies_toward(self, pubkey: str) -> dict[int, ChannelPolicy]:
        return await self._for("policies_toward").policies_toward(pubkey)

    async def update_policy(self, channel: Channel, update: PolicyUpdate) -> None:
        # An empty update needs nothing, so goes to the first backend, which refuses it.
        backend = self.backend_for(*update.needed_capabilities(), operation="update_policy")
        await backend.update_policy(channel, update)

    async def set_channel_enabled(self, channel: Channel, enabled: bool) -> None:
        await self._for("set_channel_enabled").set_channel_enabled(channel, enabled)

    async def estimate_fee(self, amount_sat: int, *, target_conf: int = 6) -> FeeEstimate:
        return await self._for("estimate_fee").estimate_fee(amount_sat, target_conf=target_conf)

    async def open_channel(
        self,
        peer_pubkey: str,
        local_amount_sat: int,
        *,
        push_amount_sat: int = 0,
        sat_per_vbyte: int | None = None,
        remote_reserve_sat: int | None = None,
    ) -> str:
        return await self._for("open_channel").open_channel(
            peer_pubkey,
            local_amount_sat,
            push_amount_sat=push_amount_sat,
            sat_per_vbyte=sat_per_vbyte,
            remote_reserve_sat=remote_reserve_sat,
        )

    def open_reserve_settable(self) -> bool:
        return self._for("open_channel").open_reserve_settable()

    def close_fee_rate_settable(self) -> bool:
        return self._for("close_channel").close_fee_rate_settable()

    async def close_channel(
        self, channel: Channel, *, force: bool = False, sat_per_vbyte: int | None = None
    ) -> str | None:
        return await self._for("close_channel").close_channel(
            channel, force=force, sat_per_vbyte=sat_per_vbyte
        )

    async def connect_peer(self, pubkey: str, host: str) -> None:
        await self._for("connect_peer").connect_peer(pubkey, host)

    async def disconnect_peer(self, pubkey: str) -> None:
        await self._for("disconnect_peer").disconnect_peer(pubkey)

    async def query_routes(
        self,
        dest_pubkey: str,
        amt_msat: int,
        *,
        outgoing_chan_ids: Sequence[int] = (),
        last_hop_pubkey: str | None = None,
        fee_limit_msat: int | None = None,
    ) -> list[Route]:
        return await self._for("query_routes").query_routes(
            dest_pubkey,
            amt_msat,
            outgoing_chan_ids=outgoing_chan_ids,
            last_hop_pubkey=last_hop_pubkey,
            fee_limit_msat=fee_limit_msat,
        )

    async def build_route(
        self,
        amt_msat: int,
        hop_pubkeys: Sequence[str],
        *,
        outgoing_chan_id: int | None = None,
        payment_addr: str | None = None,
        final_cltv_delta: int | None = None,
    ) -> Route:
        return await self._for("build_route").build_route(
            amt_msat,
            hop_pubkeys,
            outgoing_chan_id=outgoing_chan_id,
            payment_addr=payment_addr,
            final_cltv_delta=final_cltv_delta,
        )

    async def send_to_route(self, payment_hash: str, route: Route) -> RouteAttempt:
        return await self._for("send_to_route").send_to_route(payment_hash, route)

    async def create_own_invoice(
        self, value_msat: int, *, memo: str = "", expiry_s: int = 3600
    ) -> OwnInvoice:
        return await self._for("create_own_invoice").create_own_invoice(
            value_msat, memo=memo, expiry_s=expiry_s
        )

    async def export_backup(self) -> ChannelBackup:
        return await self._for("export_backup").export_backup()

    async def verify_backup(self, multi_chan_backup: bytes) -> tuple[str, ...]:
        return await self._for("verify_backup").verify_backup(multi_chan_backup)

    def channel_backups(self) -> AsyncGenerator[ChannelBackup, None]:
        return self._for("channel_backups").channel_backups()

    async def onchain_balance(self) -> OnchainBalance:
        return await self._for("onchain_balance").onchain_balance()
