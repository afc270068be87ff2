"""A node backend that talks to LND's REST API directly, for everything LNbits does not show.

LNbits' node API stops at channels, peers and outbound fees. Forwarding history, failed
HTLCs, the full policy (inbound fees, HTLC limits, CLTV delta), channel disable/enable,
routes and backups need LND itself, so lnpilot can be given a direct, optional LND REST
connection: a URL, a macaroon (hex) and, for LND's self-signed TLS, its ``tls.cert``.

The JSON mapping is in :mod:`lnpilot.node.lnd_json`; the HTTP is the one transport the
LNbits client uses too (:mod:`lnpilot.base.http`: its retry rules, typed errors, redaction
and streams), configured here for LND: the macaroon header, the TLS certificate, LND's error
bodies (:class:`LndAnswers`), which calls are safe to resend, the grpc-gateway streams (the
close stream), and a background reader of the HTLC event stream (LND does not replay HTLC
events, so failed forwards can only be known by listening; the reader reconnects after any
break and says since when it has been listening).

The macaroon is a bearer credential for the node: it is registered for redaction, so it is
masked in any message that would contain it, and it is never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from lnpilot.base.domain import (
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
from lnpilot.base.http import HttpTransport, Request, tls_context
from lnpilot.base.redact import redact_text, register_secret
from lnpilot.base.retry import RetryPolicy
from lnpilot.node import lnd_json as lj
from lnpilot.node.backend import LND_REST_CAPABILITIES, NodeBackend, NodeError, check_policy_update

log = logging.getLogger(__name__)

MACAROON_HEADER = "Grpc-Metadata-macaroon"
#: gRPC status NOT_FOUND, as LND's error bodies carry it.
GRPC_NOT_FOUND = 5
#: Graph edge lookups run this many at a time: enough to hide latency, gentle on LND.
_EDGE_CONCURRENCY = 8
_RECONNECT_MIN_S = 1.0
_RECONNECT_MAX_S = 30.0
#: What grpc-gateway answers for gRPC UNAVAILABLE (LND starting, or busy) and
#: DEADLINE_EXCEEDED, and a proxy in front of LND for a gateway error: another try may
#: succeed. LND's 500 carries gRPC UNKNOWN, its answer to a question that has no other
#: answer ("edge not found"), so it is not retried.
TRANSIENT_STATUSES = frozenset({502, 503, 504})
#: One resend, at once unless LND asks to wait (Retry-After): what a pooled connection that
#: LND or a proxy closed while it sat idle needs, a fresh one. A node that is down is not
#: waited for inside a call: the collector's loop backs off and records the gap.
LND_RETRY = RetryPolicy(max_attempts=2, base_delay_s=0.0, max_delay_s=0.0)
#: LND caps a ForwardingHistory page at 50000 events.
MAX_FORWARDS_PER_PAGE = 50_000


class LndRestError(NodeError):
    """LND answered with an error, or could not be reached (then ``status`` is None)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        grpc_code: int | None = None,
    ) -> None:
        super().__init__(redact_text(message), backend=LndRest.name)
        self.status = status
        self.grpc_code = grpc_code


def _json(text: str | bytes) -> Any:
    """A body as JSON; a non-JSON body (a proxy's error page) becomes its first words."""
    try:
        return json.loads(text)
    except ValueError:
        raw = text.decode(errors="replace") if isinstance(text, bytes) else text
        return {"message": raw[:200]}


def _error_from_body(what: str, status: int | None, body: Any) -> LndRestError:
    """LND's error JSON: ``{"code", "message"}``, or ``{"error": {...}}`` in a stream."""
    error = body.get("error", body) if isinstance(body, dict) else {}
    error = error if isinstance(error, dict) else {"message": str(error)}
    message = error.get("message") or f"HTTP {status}"
    code = error.get("code")
    return LndRestError(
        f"{what}: {message}", status=status, grpc_code=code if isinstance(code, int) else None
    )


def _request(
    method: str,
    path: str,
    path_params: dict[str, str | int] | None,
    params: Any,
    *,
    body: dict[str, Any] | None = None,
    idempotent: bool | None = None,
) -> Request:
    """The shared transport's request for a call; its label keeps the path's template, so
    that counters do not grow with every channel id and pubkey asked about."""
    return Request(
        method,
        path.format(**path_params) if path_params else path,
        label=f"{method} {path}",
        idempotent=method == "GET" if idempotent is None else idempotent,
        params=params,
        json=body,
    )


class LndAnswers:
    """How LND's REST API answers, for the shared transport: only 200 is a result, errors
    are :class:`LndRestError` from LND's error body, and a gateway error may pass."""

    def succeeded(self, status: int) -> bool:
        return status == 200

    def error_for_answer(self, method: str, path: str, response: httpx.Response) -> Exception:
        return _error_from_body(f"{method} {path}", response.status_code, _json(response.content))

    def error_for_no_answer(
        self, method: str, path: str, exc: httpx.HTTPError, *, sent: bool
    ) -> Exception:
        return LndRestError(f"{method} {path}: {type(exc).__name__}: {exc}")

    def transient(self, error: Exception) -> bool:
        return isinstance(error, LndRestError) and error.status in TRANSIENT_STATUSES


class LndRest(NodeBackend):
    """Our LND node over its REST API (``https://host:8080`` by default; plain http allowed).

    `tls_cert` is the path of LND's ``tls.cert`` for its self-signed certificate; without it
    an https URL is checked against the system's CAs. `transport` replaces the network
    (the lab passes an in-process one to a simulated node's REST app) and `clock` says what
    "now" is (the lab's virtual time): both default to the real ones. `retry` is how often
    the shared rules may resend a call (:data:`LND_RETRY` by default); a write that may have
    reached LND is never resent.
    """

    name = "lnd-rest"
    capabilities = LND_REST_CAPABILITIES

    def __init__(
        self,
        url: str,
        macaroon_hex: str,
        *,
        tls_cert: str | Path | None = None,
        timeout_s: float = 30.0,
        failed_forward_capacity: int = 10_000,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"LND REST url must start with http:// or https://, got {url!r}")
        try:
            bytes.fromhex(macaroon_hex)
        except ValueError:
            raise ValueError("the LND macaroon must be given as hex") from None
        register_secret(macaroon_hex)
        self.url = url.rstrip("/")
        self.http = HttpTransport(
            self.url,
            LndAnswers(),
            name="lnd",
            logger=log,
            timeout_s=timeout_s,
            retry=retry or LND_RETRY,
            headers={MACAROON_HEADER: macaroon_hex},
            verify=tls_context(tls_cert),
            transport=transport,
        )
        self._clock = clock or partial(datetime.now, UTC)
        self._timeout_s = timeout_s
        self._pubkey: str | None = None
        self._network: str | None = None
        self._failed = lj.FailedForwardBuffer(failed_forward_capacity)
        self._reader: asyncio.Task[None] | None = None
        #: When the current HTLC event subscription began; None while not subscribed.
        #: Failed forwards are known from this moment only.
        self.htlc_events_since: datetime | None = None

    def __repr__(self) -> str:
        return f"LndRest({self.url!r})"

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the HTLC event reader (once)."""
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_htlc_events(), name="lnd-htlc-events")

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        await self.http.aclose()

    # --- HTTP --------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        path_params: dict[str, str | int] | None = None,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """LND's JSON object answer to ``path`` (a template filled from ``path_params``).

        A GET is idempotent, and so is a POST that only reads (``idempotent=True``): the
        shared rules may resend them, e.g. after a kept-alive connection that the server (or
        a proxy in front of it) closed while it sat idle in the pool. A write is never sent
        again once it may have reached LND: LND may have acted on it.
        """
        request = _request(method, path, path_params, params, body=body, idempotent=idempotent)
        response = await self.http.send(request)
        answer = _json(response.content)
        if not isinstance(answer, dict):
            raise LndRestError(
                f"{method} {request.path}: expected a JSON object, got {answer!r:.200}"
            )
        return answer

    async def _stream(
        self,
        method: str,
        path: str,
        *,
        path_params: dict[str, str | int] | None = None,
        params: dict[str, Any] | None = None,
        idle_forever: bool = False,
        opened: Callable[[], Awaitable[dict[str, Any]]] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The ``result`` objects of a grpc-gateway stream (one JSON object per line).

        An error before the first line is an HTTP error; one later comes as ``{"error"}``.
        Use under ``contextlib.aclosing`` so that leaving early closes the connection. An
        event stream may be quiet for hours: `idle_forever` lifts the read timeout. A stream
        that sends nothing until something changes gets its current state from `opened`,
        called once the subscription is accepted, so no change falls between the two.
        """
        request = _request(method, path, path_params, params, idempotent=False)
        what = f"{method} {request.path}"
        async with self.http.stream(request, idle_forever=idle_forever) as response:
            if opened is not None:
                yield await opened()
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                message = _json(line)
                if not isinstance(message, dict) or "error" in message:
                    raise _error_from_body(what, None, message)
                yield message.get("result") or {}

    async def _our_pubkey(self) -> str:
        if self._pubkey is None:
            self._pubkey = (await self.get_info()).pubkey
        return self._pubkey

    # --- reads -------------------------------------------------------------------------

    async def get_info(self) -> NodeInfo:
        info = lj.parse_info(await self._call("GET", "/v1/getinfo"))
        self._pubkey = info.pubkey
        return info

    async def _channel_messages(self) -> list[dict[str, Any]]:
        answer = await self._call("GET", "/v1/channels", params={"peer_alias_lookup": "true"})
        channels: list[dict[str, Any]] = answer.get("channels") or []
        return channels

    async def list_channels(self) -> list[Channel]:
        return [lj.parse_channel(c) for c in await self._channel_messages()]

    async def list_pending_channels(self) -> list[Channel]:
        return lj.parse_pending_channels(await self._call("GET", "/v1/channels/pending"))

    async def list_closed_channels(self) -> list[ClosedChannel]:
        answer = await self._call("GET", "/v1/channels/closed")
        return [lj.parse_closed_channel(c) for c in answer.get("channels") or ()]

    async def list_peers(self) -> list[Peer]:
        answer = await self._call("GET", "/v1/peers")
        return [lj.parse_peer(p) for p in answer.get("peers") or ()]

    async def pending_htlcs(self) -> list[PendingHtlc]:
        return [h for c in await self._channel_messages() for h in lj.parse_pending_htlcs(c)]

    async def _edge(self, chan_id: int) -> dict[str, Any] | None:
        """The graph edge of a channel, or None when the graph does not have it (yet)."""
        try:
            return await self._call(
                "GET", "/v1/graph/edge/{chan_id}", path_params={"chan_id": chan_id}
            )
        except LndRestError as exc:
            # LND answers an unknown edge with "edge not found" (gRPC UNKNOWN, HTTP 500).
            if exc.grpc_code == GRPC_NOT_FOUND or "edge not found" in str(exc):
                return None
            raise

    async def get_policies(self, channels: Sequence[Channel]) -> list[Channel]:
        """Both directions' policies: one ``graph/node?include_channels`` read for the public
        channels (a 1000-channel node in one request), one edge read per channel the graph
        answer lacks (private or not yet announced)."""
        our_pubkey = await self._our_pubkey()
        node_info = await self._call(
            "GET",
            "/v1/graph/node/{pub_key}",
            path_params={"pub_key": our_pubkey},
            params={"include_channels": "true"},
        )
        known = {int(e["channel_id"]): e for e in node_info.get("channels") or ()}
        slots = asyncio.Semaphore(_EDGE_CONCURRENCY)

        async def with_policies(channel: Channel) -> Channel:
            if channel.chan_id is None:
                return channel
            edge = known.get(channel.chan_id)
            if edge is None:
                async with slots:
                    edge = await self._edge(channel.chan_id)
            if edge is None:
                return channel
            local, remote = lj.edge_policies(edge, our_pubkey)
            return replace(channel, local_policy=local, remote_policy=remote)

        return list(await asyncio.gather(*(with_policies(c) for c in channels)))

    async def describe_graph(self) -> Graph:
        """One ``GET /v1/graph`` read (mainnet: some 15k nodes and 50k channels, tens of MB)."""
        return lj.parse_graph(await self._call("GET", "/v1/graph"))

    async def policies_toward(self, pubkey: str) -> dict[int, ChannelPolicy]:
        """One ``graph/node/{pubkey}?include_channels`` read: the policy of each channel's
        other end is the direction toward `pubkey`."""
        try:
            node_info = await self._call(
                "GET",
                "/v1/graph/node/{pub_key}",
                path_params={"pub_key": pubkey},
                params={"include_channels": "true"},
            )
        except LndRestError as exc:
            # LND answers a node missing from its graph with "unable to find node".
            if exc.grpc_code == GRPC_NOT_FOUND or "unable to find node" in str(exc):
                return {}
            raise
        toward: dict[int, ChannelPolicy] = {}
        for edge in node_info.get("channels") or ():
            _, policy = lj.edge_policies(edge, pubkey)
            if policy is not None:
                toward[int(edge["channel_id"])] = policy
        return toward

    async def forwarding_history(
        self,
        *,
        index_offset: int = 0,
        max_events: int = 1000,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> tuple[list[Forward], int]:
        if not 0 < max_events <= MAX_FORWARDS_PER_PAGE:
            raise ValueError(f"max_events must be in 1..{MAX_FORWARDS_PER_PAGE}")
        body: dict[str, Any] = {
            "start_time": str(int(start_time.timestamp())) if start_time else "0",
            "index_offset": index_offset,
            "num_max_events": max_events,
        }
        if end_time is not None:
            body["end_time"] = str(int(end_time.timestamp()))
        answer = await self._call("POST", "/v1/switch", body=body, idempotent=True)
        forwards = [lj.parse_forward(f) for f in answer.get("forwarding_events") or ()]
        return forwards, int(answer.get("last_offset_index") or index_offset)

    async def failed_forwards(self, since: datetime) -> list[FailedForward]:
        """Failed forwards seen by the HTLC event reader (started here if need be).

        Only what happened while subscribed is known: see ``htlc_events_since``.
        """
        await self.start()
        return self._failed.since(since)

    async def _read_htlc_events(self) -> None:
        """Read ``/v2/router/htlcevents`` for as long as this backend lives, reconnecting.
        The loss is logged once (a WARNING) and the return once; the retries between them
        only at DEBUG: an outage of hours must not fill the log."""
        delay = _RECONNECT_MIN_S
        lost = False
        while True:
            try:
                stream = self._stream("GET", "/v2/router/htlcevents", idle_forever=True)
                async with aclosing(stream) as events:
                    async for event in events:
                        if "subscribed_event" in event:
                            self.htlc_events_since = self._clock()
                            delay = _RECONNECT_MIN_S
                            if lost:
                                log.info("LND HTLC event stream back")
                                lost = False
                        else:
                            self._failed.add(event)
                reason = "the stream ended"
            except LndRestError as exc:
                reason = str(exc)
            self.htlc_events_since = None
            log.log(
                logging.DEBUG if lost else logging.WARNING,
                "LND HTLC event stream lost (%s); reconnecting in %.0f s",
                reason,
                delay,
            )
            lost = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RECONNECT_MAX_S)

    async def onchain_balance(self) -> OnchainBalance:
        answer = await self._call("GET", "/v1/balance/blockchain")
        return OnchainBalance(
            total_sat=int(answer.get("total_balance") or 0),
            confirmed_sat=int(answer.get("confirmed_balance") or 0),
        )

    async def export_backup(self) -> ChannelBackup:
        return lj.parse_backup_snapshot(await self._call("GET", "/v1/channels/backup"))

    async def verify_backup(self, multi_chan_backup: bytes) -> tuple[str, ...]:
        answer = await self._call(
            "POST",
            "/v1/channels/backup/verify",
            body={"multi_chan_backup": {"multi_chan_backup": lj.b64(multi_chan_backup)}},
            idempotent=True,
        )
        return tuple(str(p) for p in answer.get("chan_points") or ())

    async def channel_backups(self) -> AsyncGenerator[ChannelBackup, None]:
        async def current() -> dict[str, Any]:
            return await self._call("GET", "/v1/channels/backup")

        stream = self._stream(
            "GET", "/v1/channels/backup/subscribe", idle_forever=True, opened=current
        )
        async with aclosing(stream) as snapshots:
            async for snapshot in snapshots:
                yield lj.parse_backup_snapshot(snapshot)

    # --- writes ------------------------------------------------------------------------

    async def update_policy(self, channel: Channel, update: PolicyUpdate) -> None:
        """Update our policy of `channel`, resending current values LND would otherwise reset."""
        check_policy_update(self, update)
        current = None
        if channel.chan_id is not None:
            edge = await self._edge(channel.chan_id)
            if edge is not None:
                current, _ = lj.edge_policies(edge, await self._our_pubkey())
        body = lj.policy_update_json(channel.channel_point, update, current)
        answer = await self._call("POST", "/v1/chanpolicy", body=body)
        failed = answer.get("failed_updates") or []
        if failed:
            reasons = "; ".join(f.get("update_error") or f.get("reason", "?") for f in failed)
            raise LndRestError(f"policy update of {channel.channel_point} failed: {reasons}")

    async def set_channel_enabled(self, channel: Channel, enabled: bool) -> None:
        """ENABLE or DISABLE our direction; a manual disable stays until enabled again."""
        await self._call(
            "POST",
            "/v2/router/updatechanstatus",
            body={
                "chan_point": lj.channel_point_json(channel.channel_point),
                "action": "ENABLE" if enabled else "DISABLE",
            },
        )

    async def estimate_fee(self, amount_sat: int, *, target_conf: int = 6) -> FeeEstimate:
        """LND prices a transaction to given outputs; the output here is a P2WSH address of
        the node's network, the shape of a funding output (see :func:`lj.pricing_address`)."""
        if self._network is None:
            self._network = lj.parse_network(await self._call("GET", "/v1/getinfo"))
        params = {
            f"AddrToAmount[{lj.pricing_address(self._network)}]": str(amount_sat),
            "target_conf": str(target_conf),
        }
        answer = await self._call("GET", "/v1/transactions/fee", params=params)
        return lj.parse_fee_estimate(answer, target_conf)

    async def open_channel(
        self,
        peer_pubkey: str,
        local_amount_sat: int,
        *,
        push_amount_sat: int = 0,
        sat_per_vbyte: int | None = None,
        remote_reserve_sat: int | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "node_pubkey": lj.b64(bytes.fromhex(peer_pubkey)),
            "local_funding_amount": str(local_amount_sat),
            "push_sat": str(push_amount_sat),
        }
        if sat_per_vbyte is not None:
            body["sat_per_vbyte"] = str(sat_per_vbyte)
        if remote_reserve_sat is not None:
            body["remote_chan_reserve_sat"] = str(remote_reserve_sat)
        return lj.channel_point_text(await self._call("POST", "/v1/channels", body=body))

    def open_reserve_settable(self) -> bool:
        return True

    def close_fee_rate_settable(self) -> bool:
        return True

    async def close_channel(
        self, channel: Channel, *, force: bool = False, sat_per_vbyte: int | None = None
    ) -> str | None:
        """Start the close and return the closing txid once LND has broadcast it.

        LND answers with a stream that ends only when the close confirms; it is read until
        the ``close_pending`` update, and leaving the stream does not stop the close.
        """
        point = lj.channel_point_json(channel.channel_point)
        params = {"force": str(force).lower()}
        if sat_per_vbyte is not None:
            params["sat_per_vbyte"] = str(sat_per_vbyte)
        stream = self._stream(
            "DELETE",
            "/v1/channels/{funding_txid_str}/{output_index}",
            path_params={
                "funding_txid_str": point["funding_txid_str"],
                "output_index": point["output_index"],
            },
            params=params,
        )
        async with aclosing(stream) as updates:
            async for update in updates:
                pending = update.get("close_pending")
                if pending is not None:
                    return lj.bytes_field(pending, "txid")[::-1].hex()
                if "chan_close" in update or "close_instant" in update:
                    return None
        return None

    async def connect_peer(self, pubkey: str, host: str) -> None:
        await self._call(
            "POST",
            "/v1/peers",
            body={
                "addr": {"pubkey": pubkey, "host": host},
                "perm": False,
                "timeout": str(int(self._timeout_s)),
            },
        )

    async def disconnect_peer(self, pubkey: str) -> None:
        await self._call("DELETE", "/v1/peers/{pub_key}", path_params={"pub_key": pubkey})

    # --- routes ------------------------------------------------------------------------

    async def query_routes(
        self,
        dest_pubkey: str,
        amt_msat: int,
        *,
        outgoing_chan_ids: Sequence[int] = (),
        last_hop_pubkey: str | None = None,
        fee_limit_msat: int | None = None,
    ) -> list[Route]:
        # The amount goes in msat as a query parameter; the path's sat amount must then be 0
        # (LND refuses both at once).
        params: list[tuple[str, Any]] = [("amt_msat", str(amt_msat))]
        params += [("outgoing_chan_ids", str(c)) for c in outgoing_chan_ids]
        if last_hop_pubkey is not None:
            params.append(("last_hop_pubkey", lj.b64(bytes.fromhex(last_hop_pubkey))))
        if fee_limit_msat is not None:
            params.append(("fee_limit.fixed_msat", str(fee_limit_msat)))
        answer = await self._call(
            "GET",
            "/v1/graph/routes/{pub_key}/{amt}",
            path_params={"pub_key": dest_pubkey, "amt": 0},
            params=params,
        )
        return [lj.parse_route(r) for r in answer.get("routes") or ()]

    async def build_route(
        self,
        amt_msat: int,
        hop_pubkeys: Sequence[str],
        *,
        outgoing_chan_id: int | None = None,
        payment_addr: str | None = None,
        final_cltv_delta: int | None = None,
    ) -> Route:
        body: dict[str, Any] = {
            "amt_msat": str(amt_msat),
            "hop_pubkeys": [lj.b64(bytes.fromhex(p)) for p in hop_pubkeys],
        }
        if outgoing_chan_id is not None:
            body["outgoing_chan_id"] = str(outgoing_chan_id)
        if payment_addr is not None:
            body["payment_addr"] = lj.b64(bytes.fromhex(payment_addr))
        if final_cltv_delta is not None:
            body["final_cltv_delta"] = final_cltv_delta
        answer = await self._call("POST", "/v2/router/route", body=body, idempotent=True)
        return lj.parse_route(answer.get("route") or {})

    async def send_to_route(self, payment_hash: str, route: Route) -> RouteAttempt:
        body = {"payment_hash": lj.b64(bytes.fromhex(payment_hash)), "route": lj.route_json(route)}
        return lj.parse_attempt(await self._call("POST", "/v2/router/route/send", body=body))

    async def create_own_invoice(
        self, value_msat: int, *, memo: str = "", expiry_s: int = 3600
    ) -> OwnInvoice:
        if value_msat <= 0 or expiry_s <= 0:
            raise ValueError("an invoice of our own needs a positive amount and expiry")
        body = {"value_msat": str(value_msat), "memo": memo, "expiry": str(expiry_s)}
        answer = await self._call("POST", "/v1/invoices", body=body)
        return lj.parse_added_invoice(answer, value_msat)
