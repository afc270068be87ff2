"""The client's declared operations against LNbits 1.6.2's OpenAPI document.

Why a test and not only ``make api-coverage``: a new resource method whose path has a typo,
or a required endpoint someone removes, must break ``make test`` (and CI) at once, not wait
for someone to read the coverage report.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "api_coverage.py"


def _load_script() -> ModuleType:
    """Import scripts/api_coverage.py (``scripts`` is not a package)."""
    spec = importlib.util.spec_from_file_location("api_coverage", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(module)
    return module


cov = _load_script()


@pytest.fixture(scope="module")
def lnbits_spec() -> dict[str, Any]:
    """The stored spec; skipped when absent on a dev machine, a failure on CI."""
    path: Path = cov.DEFAULT_SPEC
    if not path.is_file():
        if cov.ci_required():
            pytest.fail(f"LNbits OpenAPI spec {path} is missing and CI=true")
        pytest.skip(f"LNbits OpenAPI spec {path} not found")
    spec: dict[str, Any] = cov.load_spec(path)
    return spec


def test_required_tags_fully_covered(lnbits_spec: dict[str, Any]) -> None:
    report = cov.match(lnbits_spec)
    for tag in cov.REQUIRED_TAGS:
        count = report.per_tag.get(tag)
        assert count is not None, f"tag {tag!r} not in the spec: update REQUIRED_TAGS"
        missing = [str(op) for op in report.uncovered if op.tag == tag]
        assert count.covered == count.total, f"{tag}: uncovered {missing}"


def test_required_core_and_extension_ops_covered(lnbits_spec: dict[str, Any]) -> None:
    report = cov.match(lnbits_spec)
    assert report.required_not_in_spec == [], "REQUIRED_OPS names routes the spec lacks"
    assert [str(op) for op in report.required_uncovered] == []


def test_every_declared_operation_is_in_the_spec(lnbits_spec: dict[str, Any]) -> None:
    report = cov.match(lnbits_spec)
    assert report.declared_not_in_spec == [], "client declares routes LNbits does not have"


def test_script_exits_zero_and_ends_with_the_coverage_line(
    lnbits_spec: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cov.main([]) == 0
    last = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    covered, total = last.removeprefix("coverage_ops=").split("/")
    assert last.startswith("coverage_ops=")
    assert int(total) == len(cov.spec_operations(lnbits_spec))
    assert 0 < int(covered) <= int(total)


# --- the matching itself, on small synthetic specs ---------------------------------------------


def _spec(*ops: tuple[str, str, str]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, tag in ops:
        paths.setdefault(path, {"parameters": []})[method.lower()] = {"tags": [tag]}
    return {"paths": paths}


def test_parameter_names_do_not_matter_but_literals_do() -> None:
    spec = _spec(
        ("GET", "/api/v1/payments/{item_id}", "Payments"),
        ("PUT", "/api/v1/wallet/share", "Wallet"),
        ("PUT", "/api/v1/wallet/{new_name}", "Wallet"),
    )
    report = cov.match(
        spec,
        [("get", "/api/v1/payments/{payment_hash}"), ("PUT", "/api/v1/wallet/{name}/")],
        required_ops=[],
    )
    assert [str(op) for op in report.covered] == [
        "GET /api/v1/payments/{item_id}",
        "PUT /api/v1/wallet/{new_name}",
    ]
    assert [str(op) for op in report.required_uncovered] == ["PUT /api/v1/wallet/share"]
    assert report.coverage_line == "coverage_ops=2/3"
    assert not report.ok


def test_typos_and_stale_required_ops_are_reported() -> None:
    spec = _spec(("GET", "/api/v1/health", "Core"), ("GET", "/api/v1/rank", "Other"))
    report = cov.match(
        spec,
        [("GET", "/api/v1/health"), ("GET", "/api/v1/helth")],
        required_ops=[("GET", "/api/v1/health"), ("GET", "/api/v1/gone")],
    )
    assert report.declared_not_in_spec == [("GET", "/api/v1/helth")]
    assert report.required_not_in_spec == [("GET", "/api/v1/gone")]
    assert report.required_uncovered == []  # /rank is neither a required tag nor op
    assert report.per_tag["Other"].covered == 0


def test_missing_spec_passes_locally_and_fails_on_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = str(tmp_path / "nope.json")
    monkeypatch.setenv("CI", "false")
    assert cov.main(["--spec", absent]) == 0
    assert "not found" in capsys.readouterr().err
    monkeypatch.setenv("CI", "true")
    assert cov.main(["--spec", absent]) == 1


# --- what the tests really sent ----------------------------------------------------------------


def test_exercised_counts_answers_below_500_but_not_405() -> None:
    spec = _spec(
        ("GET", "/api/v1/wallet", "Wallet"),
        ("POST", "/api/v1/payments", "Payments"),
        ("GET", "/api/v1/payments/{item_id}", "Payments"),
        ("DELETE", "/api/v1/wallet", "Wallet"),
        ("GET", "/api/v1/health", "Core"),
    )
    answered = {
        "GET /api/v1/wallet": [200],
        "POST /api/v1/payments": [500, 201],  # one success is enough
        "GET /api/v1/payments/{payment_hash}": [404],  # an expected error counts
        "DELETE /api/v1/wallet": [405],  # the route does not take the method
        "GET /api/v1/health": [500],
        "GET /boltz/api/v1/swap": [200],
        "GET /lndhub/ext/getinfo": [405],
    }
    routes = {"boltz": [("GET", "/boltz/api/v1/swap")], "lndhub": [("GET", "/lndhub/ext/getinfo")]}
    seen = cov.exercised(spec, answered, ext_routes=routes, source="t")
    assert [str(op) for op in seen.core] == [
        "GET /api/v1/payments/{item_id}",
        "GET /api/v1/wallet",
        "POST /api/v1/payments",
    ]
    assert seen.coverage_line == "coverage_exercised=3/5"
    assert (seen.ext, seen.ext_total) == (1, 2)
    text = cov.render(
        cov.match(spec, [], required_ops=[], ext_routes=routes), source="t", exercised_ops=seen
    )
    assert text.splitlines()[-3:] == [
        "coverage_exercised_ext=1/2",
        "coverage_exercised=3/5",
        "coverage_ops=0/5",
    ]
