"""Read routes over what the collector recorded: the node, its channels, their series, forwards.

Everything comes from the store, never from the node (except the node's live identity in
``/node``), so the API answers quickly and the same way whatever the node's state. Amounts
are msat, capacities sat, as everywhere in lnpilot.
"""

from __future__ import annotations

import asyncio
import enum
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from pydantic import AwareDatetime, TypeAdapter

from lnpilot.api.deps import (
    SCID_PATTERN,
    SCID_SCHEMA,
    UNPROCESSABLE,
    NodeId,
    Reader,
    ServicesDep,
    errors,
    json_response,
)
from lnpilot.base.domain import Channel, ChannelState, Forward, chan_id_from_scid
from lnpilot.lifecycle.closed import ClosedHistory, ClosedView, closed_history, closed_views
from lnpilot.node.backend import NodeError
from lnpilot.service.context import Services
from lnpilot.store import (
    ChannelSeries,
    CollectorState,
    FlowStats,
    PolicyRecord,
    Resolution,
    channel_flows,
    lifecycle,
)
from lnpilot.store.lifecycle import Agreement
from lnpilot.store.metrics import ChannelMetrics, channel_metrics
from lnpilot.store.records import Event

router = APIRouter(tags=["node and channels"], responses=errors(401, 422, 503))

#: The windows the channel list totals forwards over.
LIST_WINDOWS = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
#: Series and forward listings cover at most this much.
MAX_RANGE = timedelta(days=5 * 366)
#: A series at an explicit resolution may have at most this many buckets.
MAX_BUCKETS = 20_000
MAX_FORWARDS = 10_000
#: Channels per page of the paged channel list: its default and its most.
DEFAULT_PAGE = 100
MAX_PAGE = 1000
#: The header naming the next page's cursor.
NEXT_CURSOR = "X-Next-Cursor"
#: A cursor is a channel point, ``TXID:OUTPUT`` (the txid in lowercase hex, as the node names
#: it): stated in the OpenAPI document and checked by ``list_page``, so a cursor that cannot be
#: one is bad input (422), told apart from one whose channel has left the list (409).
CURSOR_PATTERN = r"^[0-9a-f]{64}:[0-9]{1,10}$"
NODE_INFO_TIMEOUT_S = 5.0
#: The span of time the store can name: nanoseconds since 1970 in a signed 64-bit integer.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2262, 4, 11, tzinfo=UTC)
#: A short channel id in a path or a query.
Scid = Annotated[str, Path(json_schema_extra=SCID_SCHEMA)]
#: The range rules no schema can state; told in the description of each route that has them.
RANGE_RULES = (
    f"`start` must be before `end`, both between {EARLIEST.date()} and {LATEST.date()}, and "
    f"the range at most {MAX_RANGE.days} days; otherwise 422."
)


@dataclass(frozen=True)
class ChannelRow:
    """A channel as last recorded, with its forwards over each of ``LIST_WINDOWS`` by name:
    the API's shape of the store's :class:`~lnpilot.store.ChannelFlows`."""

    channel: Channel
    local_ratio: float
    flows: dict[str, FlowStats]


@dataclass(frozen=True)
class NodeFlows:
    """The node's forwards over a window. A forward shows on both its channels: it is
    counted once here, by the channel it left through (a failed one by where it came in)."""

    forwards: int
    volume_msat: int
    fees_earned_msat: int
    failed_forwards: int


def node_flows(flows: list[FlowStats]) -> NodeFlows:
    return NodeFlows(
        forwards=sum(f.forwards_out for f in flows),
        volume_msat=sum(f.volume_out_msat for f in flows),
        fees_earned_msat=sum(f.fee_out_msat for f in flows),
        failed_forwards=sum(f.failed_in for f in flows),
    )


@dataclass(frozen=True)
class NodeSummary:
    pubkey: str
    alias: str | None
    reachable: bool
    block_height: int | None
    channels_by_state: dict[str, int]
    capacity_sat: int
    local_balance_msat: int
    remote_balance_msat: int
    flows: dict[str, NodeFlows]
    collector_last_cycle_at: datetime | None


@dataclass(frozen=True)
class ChannelDetail:
    """One open channel; ``agreement`` is what was agreed with the peer when lnpilot opened it
    (None when it was not opened through ``lnpilot open``)."""

    metrics: ChannelMetrics
    policy_history: list[PolicyRecord]
    events: list[Event]
    agreement: Agreement | None = None


_ROWS = TypeAdapter(list[ChannelRow])
_CLOSED = TypeAdapter(list[ClosedView])
_SERIES = TypeAdapter(ChannelSeries)


class ResolutionChoice(enum.StrEnum):
    AUTO = "auto"
    FIVE_MINUTES = "5m"
    HOUR = "1h"
    DAY = "1d"


def time_range(
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    default: timedelta,
    max_range: timedelta | None = MAX_RANGE,
) -> tuple[datetime, datetime]:
    """``[start, end)``, defaulting to the ``default`` span that ends now; 422 when absurd
    (``max_range`` None: any length, for the exports, whose memory does not grow with it)."""
    end = end or now
    start = start or end - default
    if start < EARLIEST or end > LATEST:  # the store counts time in ns since 1970 in 64 bits
        raise HTTPException(
            UNPROCESSABLE,
            f"start and end must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}",
        )
    if start >= end:
        raise HTTPException(UNPROCESSABLE, "start must be before end")
    if max_range is not None and end - start > max_range:
        raise HTTPException(UNPROCESSABLE, f"a range spans at most {max_range.days} days")
    return start, end


def parse_scid(scid: str) -> int:
    """The numeric channel id of ``scid``; 422 when it is not a short channel id as the OpenAPI
    document states it (``SCID_PATTERN``: within what the store's 64-bit ids can hold)."""
    try:
        if re.fullmatch(SCID_PATTERN, scid) is None:
            raise ValueError(scid)
        return chan_id_from_scid(scid)
    except ValueError:
        raise HTTPException(
            UNPROCESSABLE,
            f"{scid!r} is not a short channel id (BLOCKxTXxOUT, e.g. 800000x1x0)",
        ) from None


async def _channel(services: Services, node_id: int, scid: str) -> Channel:
    """The open or pending channel ``scid`` names; 422 for a malformed id, 404 for unknown."""
    chan_id = parse_scid(scid)
    async with services.store.read() as reader:
        for channel in await reader.channels(node_id):
            if channel.chan_id == chan_id:
                return channel
        closed = await closed_views(reader, node_id, services.clock(), chan_id=chan_id)
    if closed:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"channel {scid} is closed: GET /api/v1/channels/closed/{scid} shows it",
        )
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no open or pending channel {scid}")


async def _list_rows(services: Services, node_id: int, now: datetime) -> list[ChannelRow]:
    async with services.store.read() as reader:
        channels = await reader.channels(node_id)
        found = await reader.channel_totals_over(
            node_id, [(now - span, now) for span in LIST_WINDOWS.values()], now=now
        )
    return [
        ChannelRow(
            channel=row.channel,
            local_ratio=row.channel.local_ratio,
            flows=dict(zip(LIST_WINDOWS, row.flows, strict=True)),
        )
        for row in channel_flows(channels, found)
    ]


@router.get("/node", summary="The node: identity, channels, balances, forwards per window")
async def node(services: ServicesDep, node_id: NodeId, _: Reader) -> NodeSummary:
    pubkey = await services.pubkey()
    try:
        info = await asyncio.wait_for(services.node.get_info(), NODE_INFO_TIMEOUT_S)
    except (NodeError, TimeoutError):
        info = None
    rows = await _list_rows(services, node_id, services.clock())
    async with services.store.read() as reader:
        state = await reader.collector_state(node_id)
    by_state: dict[str, int] = {}
    for row in rows:
        by_state[row.channel.state.value] = by_state.get(row.channel.state.value, 0) + 1
    opened = [r.channel for r in rows if r.channel.state is not ChannelState.PENDING_OPEN]
    return NodeSummary(
        pubkey=pubkey,
        alias=info.alias if info else None,
        reachable=info is not None,
        block_height=info.block_height if info else None,
        channels_by_state=by_state,
        capacity_sat=sum(c.capacity_sat for c in opened),
        local_balance_msat=sum(c.local_balance_msat for c in opened),
        remote_balance_msat=sum(c.remote_balance_msat for c in opened),
        flows={name: node_flows([r.flows[name] for r in rows]) for name in LIST_WINDOWS},
        collector_last_cycle_at=state.last_cycle_at if state else None,
    )


#: How hard the cached list is compressed: once per key, so a good ratio is worth the time.
GZIP_LEVEL = 6


@router.get(
    "/channels",
    summary="Open and pending channels with forwards over 1, 7 and 30 days",
    description=(
        "Answers carry an `ETag`: sent back in `If-None-Match`, an unchanged list is a 304 "
        "without a body. With `Accept-Encoding: gzip` the list comes compressed. "
        "With `limit` (or `cursor`) the list comes in pages of at most `limit` channels "
        f"(default {DEFAULT_PAGE}), in the same order, without `ETag`: the header "
        "`X-Next-Cursor` of a page is the `cursor` of the next one, and the last page has "
        "none. A cursor whose channel has left the list since (closed) is a 409: start again."
    ),
    response_model=list[ChannelRow],
    responses={
        **errors(409),
        200: {
            "headers": {
                NEXT_CURSOR: {
                    "description": "On a page that is not the last: the next page's `cursor`",
                    "schema": {"type": "string"},
                }
            }
        },
        304: {"description": "Not modified: the list is the one the `ETag` names"},
    },
)
async def channels(
    request: Request,
    services: ServicesDep,
    node_id: NodeId,
    _: Reader,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE, description="Channels per page (paged list)")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=80,
            description="The `X-Next-Cursor` of the previous page (paged list)",
            json_schema_extra={"pattern": CURSOR_PATTERN},
        ),
    ] = None,
) -> Response:
    now = list_now(services)

    async def read_state() -> CollectorState | None:
        async with services.store.read() as reader:
            return await reader.collector_state(node_id)

    # The collector's state is read again only once the store changed: a cycle recorded by
    # any process is a change, so the key still moves on at once (``Services.settled``).
    state = await services.settled.get(
        services.store.data_version(), ("collector_state", node_id), read_state
    )
    key = ("channels", node_id, state, now)
    body = await services.reads.get(key, lambda: list_body(services, node_id, now))
    if limit is not None or cursor is not None:
        page, next_cursor = list_page(json.loads(body), cursor, limit or DEFAULT_PAGE)
        headers = {NEXT_CURSOR: next_cursor} if next_cursor is not None else {}
        return Response(
            json.dumps(page, separators=(",", ":")).encode(),
            media_type="application/json",
            headers=headers,
        )
    etag = (await services.reads.get((*key, "etag"), lambda: _etag(body))).decode()
    headers = {"ETag": etag, "Vary": "Accept-Encoding"}
    if etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        packed = await services.reads.get((*key, "gzip"), lambda: _gzip(body))
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="application/json", headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def list_page(
    rows: list[dict[str, Any]], cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """The ``limit`` rows (the cached list's JSON) after the one whose channel point is
    ``cursor`` (from the first without), and the cursor of the page after them (None when
    they are the last). The cursor is a channel point, the one id a channel has from its
    funding on, so a page never repeats or skips a channel that stays listed; 422 when it
    is not a channel point, 409 when its channel left the list (a state, not a mistake in
    the request). Paging slices the one cached list, so pages cost no store read."""
    start = 0
    if cursor is not None:
        if re.fullmatch(CURSOR_PATTERN, cursor) is None:
            raise HTTPException(
                UNPROCESSABLE,
                f"cursor {cursor!r} is not a channel point (TXID:OUTPUT, the txid in lowercase "
                "hex): send back the X-Next-Cursor of the previous page",
            )
        points = [row["channel"]["channel_point"] for row in rows]
        if cursor not in points:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"cursor {cursor!r} names no listed channel (closed since?): ask for the "
                "first page again, without cursor",
            )
        start = points.index(cursor) + 1
    page = rows[start : start + limit]
    more = start + limit < len(rows)
    return page, str(page[-1]["channel"]["channel_point"]) if more and page else None


async def _etag(body: bytes) -> bytes:
    """A weak validator of the list's bytes: weak because the gzip and the plain answer
    carry the same one (they are the same list), which is what ``If-None-Match`` compares."""
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'.encode()


async def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def _etags(header: str) -> set[str]:
    """The validators an ``If-None-Match`` names (weak or not: a GET compares weakly)."""
    found = set()
    for part in header.split(","):
        tag = part.strip()
        if tag:
            found.add(tag if tag.startswith("W/") else f"W/{tag}")
    return found


def accepts_gzip(header: str) -> bool:
    """Whether ``Accept-Encoding`` takes gzip: named (or ``*``) without ``q=0``. Serving
    the list compressed sends a tenth of its bytes, and the compression is done once per
    key, not per request."""
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() not in {"gzip", "*"}:
            continue
        quality = params.strip().lower().removeprefix("q=").strip()
        try:
            return not params or float(quality) > 0
        except ValueError:
            return False
    return False


def list_now(services: Services) -> datetime:
    """Where the channel list's windows end: now, to the whole second. Besides a collector
    cycle, only the windows moving on change the list; to the second, every reader within
    that second asks the same question and shares one answer (``Services.reads``)."""
    return services.clock().replace(microsecond=0)


async def list_body(services: Services, node_id: int, now: datetime) -> bytes:
    """The channel list as of ``now``, read from the store and serialised: what
    ``GET /channels`` answers, computed once per collector cycle and second. Its key holds
    the collector's state, which the collector saves in the transaction that records
    channels, policies and forwards: a reader after a cycle asks a new key, so never gets
    an answer from before it."""
    return _ROWS.dump_json(await _list_rows(services, node_id, now))


@router.get(
    "/channels/closed",
    summary="Closed channels: close type, settlement and final accounting",
    response_model=list[ClosedView],
    responses=errors(503),
)
async def closed_channels(services: ServicesDep, node_id: NodeId, _: Reader) -> Response:
    async with services.store.read() as reader:
        views = await closed_views(reader, node_id, services.clock())
    return json_response(_CLOSED, views)


@router.get(
    "/channels/closed/{scid}",
    summary="One closed channel: its close, accounting, agreements, procedure and history",
    responses=errors(404, 503),
)
async def closed_channel(
    services: ServicesDep, node_id: NodeId, _: Reader, scid: Scid
) -> ClosedHistory:
    chan_id = parse_scid(scid)
    async with services.store.read() as reader:
        found = await closed_history(reader, node_id, chan_id, services.clock())
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no closed channel {scid}")
    return found


@router.get(
    "/channels/{scid}",
    summary="One channel: its metrics, policy changes, events and agreement",
    responses=errors(404),
)
async def channel(
    services: ServicesDep,
    node_id: NodeId,
    _: Reader,
    scid: Scid,
    days: Annotated[int, Query(ge=1, le=366, description="History to include")] = 30,
) -> ChannelDetail:
    found = await _channel(services, node_id, scid)
    assert found.chan_id is not None  # found by it
    now = services.clock()
    start = now - timedelta(days=days)
    async with services.store.read() as reader:
        metrics = await channel_metrics(reader, node_id, now, chan_ids=[found.chan_id])
        history = await reader.policy_history(node_id, found.chan_id, start, now)
        events = await reader.events(node_id, start, now, chan_id=found.chan_id)
        live = await lifecycle.live_agreements(reader, node_id)
    if not metrics:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"channel {scid} is not confirmed yet")
    return ChannelDetail(
        metrics=metrics[0],
        policy_history=history,
        events=events,
        agreement=live.get(found.channel_point),
    )


@router.get(
    "/channels/{scid}/series",
    summary="One channel's balances and flows per bucket",
    description=(
        "From the rollups. `resolution=auto` picks the finest level still retained at `start` "
        "that gives at most `max_points` buckets. Buckets without data are left out. "
        f"{RANGE_RULES} An explicit `resolution` may give at most {MAX_BUCKETS} buckets "
        "over the range; otherwise 422."
    ),
    response_model=ChannelSeries,
    responses=errors(404),
)
async def channel_series(
    services: ServicesDep,
    node_id: NodeId,
    _: Reader,
    scid: Scid,
    start: Annotated[AwareDatetime | None, Query(description="Default: 7 days before end")] = None,
    end: Annotated[AwareDatetime | None, Query(description="Default: now")] = None,
    resolution: ResolutionChoice = ResolutionChoice.AUTO,
    max_points: Annotated[int, Query(ge=10, le=MAX_BUCKETS)] = 1000,
) -> Response:
    chan_id = parse_scid(scid)
    now = services.clock()
    start, end = time_range(start, end, now, timedelta(days=7))
    chosen = None if resolution is ResolutionChoice.AUTO else Resolution(resolution.value)
    if chosen is not None and (end - start) / chosen.step > MAX_BUCKETS:
        raise HTTPException(
            UNPROCESSABLE,
            f"{resolution.value} over this range is more than {MAX_BUCKETS} buckets: "
            "choose a coarser resolution or a shorter range",
        )
    async with services.store.read() as reader:
        found_series = await reader.channel_series(
            node_id, chan_id, start, end, resolution=chosen, max_points=max_points, now=now
        )
    if not found_series.points:  # only then is it worth asking whether the channel exists
        await _channel(services, node_id, scid)
    return json_response(_SERIES, found_series)


@router.get(
    "/forwards",
    summary="Forwards in time order, optionally through one channel",
    description=RANGE_RULES,
    responses=errors(404),
)
async def forwards(
    services: ServicesDep,
    node_id: NodeId,
    _: Reader,
    start: Annotated[AwareDatetime | None, Query(description="Default: 1 day before end")] = None,
    end: Annotated[AwareDatetime | None, Query(description="Default: now")] = None,
    channel: Annotated[
        str | None, Query(description="Short channel id", json_schema_extra=SCID_SCHEMA)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FORWARDS)] = 1000,
) -> list[Forward]:
    start, end = time_range(start, end, services.clock(), timedelta(days=1))
    chan_id = None
    if channel is not None:
        chan_id = (await _channel(services, node_id, channel)).chan_id
    async with services.store.read() as reader:
        found = await reader.forwards(node_id, start, end, chan_id=chan_id)
    return found[-limit:]
