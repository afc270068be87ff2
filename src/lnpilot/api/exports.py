"""Exports as downloads: the same streams as ``lnpilot export``, sent while they are read.

Any range is allowed (an export is the way to take a year out), since memory does not grow
with it. The file name says what and when, so a browser saves it sensibly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from lnpilot.api.channels import EARLIEST, LATEST, time_range
from lnpilot.api.deps import NodeId, Reader, ServicesDep, json_errors
from lnpilot.backup.export import MEDIA_TYPES, ExportFormat, ExportKind, Period, export

router = APIRouter(prefix="/exports", tags=["exports"])
DEFAULT_SPAN = timedelta(days=30)


@router.get(
    "/{kind}",
    summary="Download forwards, fee changes, rebalances, payments or accounting",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The rows: CSV with a header line, or a JSON array of objects",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        },
        **json_errors(401, 422),
    },
    description=(
        f"`start` must be before `end`, both between {EARLIEST.date()} and {LATEST.date()}; "
        "otherwise 422. Any length is allowed: the rows are streamed."
    ),
)
async def download(
    services: ServicesDep,
    node_id: NodeId,
    _: Reader,
    kind: ExportKind,
    start: Annotated[AwareDatetime | None, Query(description="Default: 30 days before end")] = None,
    end: Annotated[AwareDatetime | None, Query(description="Default: now")] = None,
    fmt: Annotated[ExportFormat, Query(alias="format", description="csv or json")] = (
        ExportFormat.CSV
    ),
    period: Annotated[Period, Query(description="Accounting period")] = Period.MONTH,
) -> StreamingResponse:
    start, end = time_range(start, end, services.clock(), DEFAULT_SPAN, max_range=None)
    name = f"lnpilot-{kind.value}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt.value}"
    chunks = export(services.store, node_id, kind, start, end, fmt, period=period)
    return StreamingResponse(
        chunks,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
