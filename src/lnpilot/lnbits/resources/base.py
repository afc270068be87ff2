"""What every resource shares: the transport and query-parameter helpers."""

from __future__ import annotations

from typing import Any

from lnpilot.lnbits.transport import Transport


class Resource:
    """A group of operations sharing one :class:`Transport`."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport


def list_params(
    *,
    limit: int | None = None,
    offset: int | None = None,
    sortby: str | None = None,
    direction: str | None = None,
    search: str | None = None,
    filters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """LNbits' common list query: paging, sorting, free-text search and field filters.

    Field filters are passed as LNbits expects them, e.g. ``{"status[eq]": "success"}``
    or ``{"status": "success"}``.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if offset is not None and offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    if direction not in (None, "asc", "desc"):
        raise ValueError(f"direction must be 'asc' or 'desc', got {direction!r}")
    params: dict[str, Any] = {
        "limit": limit,
        "offset": offset,
        "sortby": sortby,
        "direction": direction,
        "search": search,
    }
    params.update(filters or {})
    return {k: v for k, v in params.items() if v is not None}
