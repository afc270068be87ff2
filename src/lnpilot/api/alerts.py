"""Alerts and silences, incidents and their lifecycle. Writes need admin and are audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from lnpilot.api.deps import (
    UNPROCESSABLE,
    Admin,
    NoBody,
    Reader,
    ServicesDep,
    StoreId,
    audited,
    errors,
    json_errors,
)
from lnpilot.monitor import IncidentError, acknowledge, annotate, incident_markdown, resolve
from lnpilot.monitor.causes import Cause, causes_of, not_checked_of
from lnpilot.store.alerts import (
    Alert,
    Incident,
    IncidentAction,
    Matcher,
    Silence,
    TimelineEntry,
    monitor_book,
)


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"


router = APIRouter(tags=["alerts and incidents"], responses=errors(401, 422))

MAX_SILENCE = timedelta(days=90)
#: A matcher's syntax as the OpenAPI document states it: ``name`` then ``=``, ``!=``, ``=~``
#: or ``!~`` then the value (what :meth:`Matcher.parse` accepts).
MATCHER_PATTERN = r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)"


class SilenceIn(BaseModel):
    """A silence: alerts whose labels match every matcher are not notified until it ends."""

    model_config = ConfigDict(extra="forbid")

    # The pattern is documented, and checked by Matcher.parse, whose message says more than
    # "should match pattern".
    matchers: list[Annotated[str, Field(json_schema_extra={"pattern": MATCHER_PATTERN})]] = Field(
        min_length=1, max_length=20, examples=[["alertname=channel_drained", "scid=800000x1x0"]]
    )
    duration_s: int = Field(gt=0, le=int(MAX_SILENCE.total_seconds()))
    comment: str = Field(min_length=1, max_length=500)


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000, description="Added to the timeline")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cause: str = Field(min_length=1, max_length=2000, description="What caused it")
    resolution: str = Field(min_length=1, max_length=2000, description="What fixed it")


@dataclass(frozen=True)
class IncidentOut:
    """An incident with its timeline, its plan, and the likely causes recorded when it
    opened (best first; ``not_checked`` is what they could not look at, None for an
    incident opened before causes were gathered)."""

    incident: Incident
    timeline: list[TimelineEntry]
    actions: list[IncidentAction]
    causes: list[Cause]
    not_checked: list[str] | None


@router.get("/alerts", summary="Pending and firing alerts (resolved too with all=true)")
async def alerts(
    services: ServicesDep, _: Reader, all: Annotated[bool, Query()] = False
) -> list[Alert]:
    async with monitor_book(services.store) as book:
        return await book.list_alerts(include_resolved=all)


@router.get("/alerts/silences", summary="Silences (only those in force with active=true)")
async def silences(
    services: ServicesDep, _: Reader, active: Annotated[bool, Query()] = False
) -> list[Silence]:
    async with monitor_book(services.store) as book:
        return await book.silences(active_at=services.clock() if active else None)


@router.post(
    "/alerts/silences",
    status_code=status.HTTP_201_CREATED,
    summary="Silence alerts",
    description="A `=~` or `!~` matcher's value must be a valid regular expression; otherwise 422.",
    responses=errors(403),
)
async def add_silence(services: ServicesDep, token: Admin, body: SilenceIn) -> Silence:
    async with audited(services, token, "alerts.silence", detail=body.model_dump()) as detail:
        try:
            matchers = [Matcher.parse(text) for text in body.matchers]
        except ValueError as exc:
            raise HTTPException(UNPROCESSABLE, str(exc)) from None
        now = services.clock()
        async with monitor_book(services.store, write=True) as book:
            silence = await book.add_silence(
                matchers,
                now,
                now + timedelta(seconds=body.duration_s),
                created_by=token.name,
                comment=body.comment,
            )
        detail["silence_id"] = silence.id
        return silence


@router.delete(
    "/alerts/silences/{silence_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End a silence now",
    responses=errors(403, 404),
)
async def expire_silence(
    services: ServicesDep, token: Admin, silence_id: StoreId, _body: NoBody = None
) -> None:
    async with (
        audited(services, token, "alerts.unsilence", target=f"silence:{silence_id}"),
        monitor_book(services.store, write=True) as book,
    ):
        if not await book.expire_silence(silence_id, services.clock()):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no silence {silence_id} in force")


@router.get("/incidents", summary="Open and acknowledged incidents (resolved too with all=true)")
async def incidents(
    services: ServicesDep, _: Reader, all: Annotated[bool, Query()] = False
) -> list[Incident]:
    async with monitor_book(services.store) as book:
        return await book.incidents(include_resolved=all)


async def _incident(services: ServicesDep, incident_id: int) -> IncidentOut:
    async with monitor_book(services.store) as book:
        found = await book.incident(incident_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
        timeline = await book.timeline(incident_id)
        return IncidentOut(
            found,
            timeline,
            await book.actions(incident_id),
            causes_of(timeline),
            not_checked_of(timeline),
        )


@router.get(
    "/incidents/{incident_id}",
    summary="An incident, its timeline and its action plan",
    responses=errors(404),
)
async def incident(services: ServicesDep, _: Reader, incident_id: StoreId) -> IncidentOut:
    return await _incident(services, incident_id)


@router.get(
    "/incidents/{incident_id}/export",
    summary="An incident as Markdown: summary, cause, resolution, plan and timeline",
    response_class=MarkdownResponse,
    responses={
        200: {"content": {"text/markdown": {"schema": {"type": "string"}}}},
        **json_errors(401, 404, 422),
    },
)
async def export(services: ServicesDep, _: Reader, incident_id: StoreId) -> PlainTextResponse:
    found = await _incident(services, incident_id)
    text = incident_markdown(found.incident, found.timeline, found.actions)
    return MarkdownResponse(text)


@router.post(
    "/incidents/{incident_id}/ack",
    summary="Acknowledge an incident",
    responses=errors(403, 404, 409),
)
async def ack(
    services: ServicesDep, token: Admin, incident_id: StoreId, body: AckIn | None = None
) -> IncidentOut:
    async with audited(services, token, "incidents.ack", target=f"incident:{incident_id}"):
        await _incident(services, incident_id)  # 404 before anything is written
        try:
            await acknowledge(services.store, incident_id, token.name, services.clock())
            if body is not None and body.note:
                await annotate(services.store, incident_id, body.note, token.name, services.clock())
        except IncidentError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return await _incident(services, incident_id)


@router.post(
    "/incidents/{incident_id}/resolve",
    summary="Resolve an incident",
    responses=errors(403, 404, 409),
)
async def resolve_incident(
    services: ServicesDep, token: Admin, incident_id: StoreId, body: ResolveIn
) -> IncidentOut:
    async with audited(
        services,
        token,
        "incidents.resolve",
        target=f"incident:{incident_id}",
        detail=body.model_dump(),
    ):
        await _incident(services, incident_id)  # 404 before anything is written
        try:
            await resolve(
                services.store,
                incident_id,
                cause=body.cause,
                resolution=body.resolution,
                by=token.name,
                now=services.clock(),
            )
        except IncidentError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return await _incident(services, incident_id)
