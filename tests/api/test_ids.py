"""Ids are validated at the edge: a number no store row can have (the stores' ids are signed
64-bit) is bad input, 422 naming the parameter, and the largest possible id that names no row
is 404 — on SQLite and on PostgreSQL, whose drivers refuse larger numbers with an error that
used to surface as a 500."""

from __future__ import annotations

import pytest

from .conftest import Api

MAX_ID = 2**63 - 1

#: (method, path with {id}, json body, where the id goes in the 422's problem).
ROUTES = [
    ("GET", "/api/v1/fees/runs/{id}", None, "path.run_id"),
    ("POST", "/api/v1/fees/runs/{id}/rollback", None, "path.run_id"),
    ("GET", "/api/v1/rebalances/runs/{id}", None, "path.run_id"),
    ("GET", "/api/v1/incidents/{id}", None, "path.incident_id"),
    ("GET", "/api/v1/incidents/{id}/export", None, "path.incident_id"),
    ("POST", "/api/v1/incidents/{id}/ack", None, "path.incident_id"),
    (
        "POST",
        "/api/v1/incidents/{id}/resolve",
        {"cause": "c", "resolution": "r"},
        "path.incident_id",
    ),
    ("DELETE", "/api/v1/alerts/silences/{id}", None, "path.silence_id"),
    ("GET", "/api/v1/audit?before_id={id}", None, "query.before_id"),
]


@pytest.mark.parametrize(("method", "path", "body", "where"), ROUTES)
async def test_ids_beyond_the_store_are_bad_input_and_the_largest_is_not_found(
    api_on_each_store: Api, method: str, path: str, body: object, where: str
) -> None:
    api = api_on_each_store
    for bad in (MAX_ID + 1, 2**64, 10**30, 0, -1):
        answer = await api.http.request(
            method, path.format(id=bad), json=body, headers=api.auth(admin=True)
        )
        assert answer.status_code == 422, (bad, answer.text)
        error = answer.json()
        assert error["detail"] == "invalid request"
        assert [p for p in error["problems"] if p.startswith(f"{where}: ")], error
    largest = await api.http.request(
        method, path.format(id=MAX_ID), json=body, headers=api.auth(admin=True)
    )
    if "before_id" in path:
        assert largest.status_code == 200 and isinstance(largest.json(), list)
    else:
        assert largest.status_code == 404, largest.text
        assert str(MAX_ID) in largest.json()["detail"]
