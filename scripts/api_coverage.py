"""Measure how much of LNbits' HTTP API the client implements, from the code itself.

Why: "the client covers the API" is a claim; this script turns it into a number. It reads
LNbits' OpenAPI document (the stored 1.6.2 spec by default, or a live server's
``/openapi.json``) and matches every operation in it against the registry the client fills
at import time (:data:`lnpilot.lnbits.operations.OPERATIONS`), so nobody keeps a list by hand.

Operations are matched on HTTP method and path template. Path parameter *names* are
ignored (ours may say ``{payment_hash}`` where LNbits says ``{item_id}``), because they do
not change the request that goes on the wire.

It prints a per-tag table, the uncovered operations of the required set, the operations the
client declares that the spec does not know (typos or removed endpoints), and as its very last
line ``coverage_ops=N/M``. Extension routes (LNDHub, UserManager, Boltz) are not in LNbits'
OpenAPI: they are counted against the routes of the recorded contracts in
``../shared/contracts`` and printed as ``coverage_ext=N/M`` just before it.

Declared is not exercised. A test session run with ``LNPILOT_API_EXERCISED=FILE`` (``make
api-exercised`` does it) records every operation the client got an HTTP answer for, with
its statuses (an observer of the transport's answers, ``lnpilot.base.http.add_answer_observer``,
registered and written out by ``tests/conftest.py``);
the script reads that file (``--exercised``, default ``.cache/api_exercised.json``) and
prints ``coverage_exercised=N/M``: operations of the spec answered with a success or an
expected error (any status below 500 except 405, which says the route does not take that
method), and the same for the extensions' contract routes.

Exit status: 0 when every required operation is covered and every declared operation exists
in the spec; 1 otherwise. A missing spec file is not an error on a developer machine (exit 0
with a message) but is on CI (``CI=true``), where a skipped measurement would pass silently.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = REPO_ROOT.parent / "shared/specs/lnbits-1.6.2-openapi.json"

DEFAULT_CONTRACTS = REPO_ROOT.parent / "shared/contracts"
DEFAULT_EXERCISED = REPO_ROOT / ".cache/api_exercised.json"

#: Extension route prefixes -> extension id. Their routes are not in LNbits' OpenAPI: they are
#: counted against the `routes` array of the extension's recorded contract instead.
EXTENSION_PREFIXES: dict[str, str] = {
    "/lndhub/": "lndhub",
    "/usermanager/": "usermanager",
    "/boltz/": "boltz",
}

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

#: Every operation of these tags must be implemented (LNbits spells "Managment" so).
REQUIRED_TAGS: tuple[str, ...] = ("Wallet", "Payments", "Users", "Node Managment")

#: Single operations outside the required tags that a node operator or wallet service needs.
#: Keyed by (method, path as in the spec); the value says why it is on the list.
REQUIRED_OPS: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/health"): "core: health",
    ("GET", "/api/v1/status"): "core: status",
    ("GET", "/api/v1/currencies"): "core: currencies",
    ("GET", "/api/v1/rate/{currency}"): "core: rate",
    ("POST", "/api/v1/conversion"): "core: conversion",
    ("POST", "/api/v1/account"): "core: account creation",
    ("GET", "/api/v1/wallets"): "core: wallets list",
    ("GET", "/api/v1/extension"): "extensions: list (user's)",
    ("GET", "/api/v1/extension/all"): "extensions: list (all available)",
    ("POST", "/api/v1/extension"): "extensions: install",
    ("DELETE", "/api/v1/extension/{ext_id}"): "extensions: uninstall",
    ("PUT", "/api/v1/extension/{ext_id}/enable"): "extensions: enable",
    ("PUT", "/api/v1/extension/{ext_id}/disable"): "extensions: disable",
    ("PUT", "/api/v1/extension/{ext_id}/activate"): "extensions: activate",
    ("PUT", "/api/v1/extension/{ext_id}/deactivate"): "extensions: deactivate",
}

_PARAM = re.compile(r"\{[^}/]*\}")


def normalise(method: str, path: str) -> tuple[str, str]:
    """The matching key: upper-case method, path with every ``{name}`` made ``{}``.

    A trailing slash is dropped too (FastAPI routes ``/x`` and ``/x/`` alike by default).
    """
    path = _PARAM.sub("{}", path)
    if len(path) > 1:
        path = path.rstrip("/")
    return method.upper(), path


@dataclass(frozen=True, order=True)
class SpecOp:
    """One operation of the OpenAPI document."""

    method: str
    path: str
    tag: str
    operation_id: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return normalise(self.method, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class TagCount:
    covered: int = 0
    total: int = 0


@dataclass
class CoverageReport:
    """What :func:`match` found; everything the script prints and the test asserts on."""

    spec_ops: list[SpecOp]
    covered: list[SpecOp]
    uncovered: list[SpecOp]
    #: Required operations (by tag or by name) the client does not implement.
    required_uncovered: list[SpecOp]
    #: Entries of REQUIRED_OPS that the spec itself does not contain (a stale list).
    required_not_in_spec: list[tuple[str, str]]
    #: Operations the client declares that the spec does not have: typos or removed routes.
    declared_not_in_spec: list[tuple[str, str]]
    per_tag: dict[str, TagCount] = field(default_factory=dict)
    #: Per extension: routes of its contract the client declares / all of them.
    per_extension: dict[str, TagCount] = field(default_factory=dict)
    #: Contract routes the client does not implement (every one is required).
    extension_uncovered: list[tuple[str, str]] = field(default_factory=list)
    #: Extension operations the client declares that no contract lists.
    extension_unknown: list[tuple[str, str]] = field(default_factory=list)
    #: How many spec operations are required (by tag or by name).
    required_total: int = 0
    required_tags: tuple[str, ...] = REQUIRED_TAGS

    @property
    def ok(self) -> bool:
        return not (
            self.required_uncovered
            or self.required_not_in_spec
            or self.declared_not_in_spec
            or self.extension_uncovered
            or self.extension_unknown
        )

    @property
    def coverage_line(self) -> str:
        return f"coverage_ops={len(self.covered)}/{len(self.spec_ops)}"


def spec_operations(spec: dict[str, Any]) -> list[SpecOp]:
    """Every (method, path) of an OpenAPI document, with its first tag."""
    ops: list[SpecOp] = []
    for path, item in spec.get("paths", {}).items():
        if not isinstance(item, dict):
            continue
        for method, body in item.items():
            if method.upper() not in HTTP_METHODS or not isinstance(body, dict):
                continue  # "parameters", "summary", ... sit beside the methods
            tags = body.get("tags") or ["(untagged)"]
            ops.append(SpecOp(method.upper(), path, str(tags[0]), body.get("operationId", "")))
    return sorted(ops)


def extension_of(path: str) -> str | None:
    """The extension id a path belongs to, or None for LNbits core."""
    for prefix, ext_id in EXTENSION_PREFIXES.items():
        if path.startswith(prefix):
            return ext_id
    return None


def extension_routes(contracts_dir: Path = DEFAULT_CONTRACTS) -> dict[str, list[tuple[str, str]]]:
    """Each extension's routes as its recorded contract lists them; {} without contracts."""
    routes: dict[str, list[tuple[str, str]]] = {}
    for ext_id in EXTENSION_PREFIXES.values():
        path = contracts_dir / f"{ext_id}.json"
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            routes[ext_id] = [(str(r["method"]), str(r["path"])) for r in data["routes"]]
    return routes


def declared_operations() -> set[tuple[str, str]]:
    """The client's operations, as matching keys (one endpoint used twice counts once)."""
    import lnpilot.lnbits  # noqa: F401  (imports every resource module, filling the registry)
    from lnpilot.lnbits.operations import OPERATIONS

    return {normalise(op.method, op.path) for op in OPERATIONS.values()}


def match(
    spec: dict[str, Any],
    declared: Iterable[tuple[str, str]] | None = None,
    *,
    required_tags: Sequence[str] = REQUIRED_TAGS,
    required_ops: Iterable[tuple[str, str]] = REQUIRED_OPS,
    ext_routes: dict[str, list[tuple[str, str]]] | None = None,
) -> CoverageReport:
    """Compare the spec with the declared operations (the client's registry by default).

    Extension operations are matched against `ext_routes` (the recorded contracts' routes by
    default); an extension without a contract is not checked.
    """
    ops = spec_operations(spec)
    if declared is None:
        declared = declared_operations()
    if ext_routes is None:
        ext_routes = extension_routes()
    all_keys = {normalise(m, p) for m, p in declared}
    declared_keys = {k for k in all_keys if extension_of(k[1]) is None}
    per_extension: dict[str, TagCount] = {}
    extension_uncovered: list[tuple[str, str]] = []
    contract_keys: set[tuple[str, str]] = set()
    for ext_id, routes in ext_routes.items():
        count = per_extension.setdefault(ext_id, TagCount())
        for method, path in routes:
            key = normalise(method, path)
            contract_keys.add(key)
            count.total += 1
            if key in all_keys:
                count.covered += 1
            else:
                extension_uncovered.append((method, path))
    extension_unknown = sorted(
        k
        for k in all_keys - declared_keys
        if extension_of(k[1]) in ext_routes and k not in contract_keys
    )
    spec_keys = {op.key for op in ops}
    required_keys = {normalise(m, p) for m, p in required_ops}

    per_tag: dict[str, TagCount] = {}
    covered: list[SpecOp] = []
    uncovered: list[SpecOp] = []
    for op in ops:
        count = per_tag.setdefault(op.tag, TagCount())
        count.total += 1
        if op.key in declared_keys:
            count.covered += 1
            covered.append(op)
        else:
            uncovered.append(op)

    required = [op for op in ops if op.tag in required_tags or op.key in required_keys]
    required_uncovered = [op for op in required if op.key not in declared_keys]
    return CoverageReport(
        spec_ops=ops,
        covered=covered,
        uncovered=uncovered,
        required_uncovered=required_uncovered,
        required_not_in_spec=sorted(
            (m, p) for m, p in required_ops if normalise(m, p) not in spec_keys
        ),
        declared_not_in_spec=sorted(declared_keys - spec_keys),
        per_tag=dict(sorted(per_tag.items())),
        per_extension=per_extension,
        extension_uncovered=sorted(extension_uncovered),
        extension_unknown=extension_unknown,
        required_total=len(required),
        required_tags=tuple(required_tags),
    )


@dataclass(frozen=True)
class Exercised:
    """What the recorded test sessions really sent and got answered."""

    core: list[SpecOp]
    core_total: int
    ext: int
    ext_total: int
    source: str

    @property
    def coverage_line(self) -> str:
        return f"coverage_exercised={len(self.core)}/{self.core_total}"


def answered_ok(statuses: Iterable[int]) -> bool:
    """A success or an expected error: below 500 and not 405 (no such method there)."""
    return any(code < 500 and code != 405 for code in statuses)


def exercised(
    spec: dict[str, Any],
    answered: dict[str, Iterable[int]],
    *,
    ext_routes: dict[str, list[tuple[str, str]]] | None = None,
    source: str = "",
) -> Exercised:
    """Spec operations and contract routes among the ``"METHOD /path"`` keys of
    ``answered`` whose statuses count (:func:`answered_ok`)."""
    keys = set()
    for op, statuses in answered.items():
        method, _, path = op.partition(" ")
        if answered_ok(statuses):
            keys.add(normalise(method, path))
    ops = spec_operations(spec)
    routes = extension_routes() if ext_routes is None else ext_routes
    contract = {normalise(m, p) for listed in routes.values() for m, p in listed}
    return Exercised(
        core=[op for op in ops if op.key in keys],
        core_total=len(ops),
        ext=len(contract & keys),
        ext_total=len(contract),
        source=source,
    )


def load_exercised(path: Path) -> dict[str, list[int]] | None:
    if not path.is_file():
        return None
    data: dict[str, list[int]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def render(report: CoverageReport, *, source: str, exercised_ops: Exercised | None = None) -> str:
    """The human report; its last line is ``coverage_ops=N/M`` and nothing follows it."""
    lines = [f"spec: {source}", ""]
    width = max([len(t) for t in report.per_tag] + [len("tag")])
    lines.append(f"{'tag':<{width}}  covered/total  required")
    for tag, count in report.per_tag.items():
        mark = "all" if tag in report.required_tags else ""
        lines.append(f"{tag:<{width}}  {count.covered:>7}/{count.total:<5}  {mark}".rstrip())
    lines.append("")
    n_required = report.required_total
    lines.append(
        f"required operations: {n_required - len(report.required_uncovered)}/{n_required} "
        f"covered (tags: {', '.join(report.required_tags)}; plus core and extension management)"
    )
    for op in report.required_uncovered:
        lines.append(f"  UNCOVERED {op}  [{op.tag}]")
    for method, path in report.required_not_in_spec:
        lines.append(f"  REQUIRED BUT NOT IN SPEC {method} {path}  (fix REQUIRED_OPS)")
    if report.declared_not_in_spec:
        lines.append("declared by the client but not in the spec (typo or removed route?):")
        lines.extend(f"  UNKNOWN {m} {p}" for m, p in report.declared_not_in_spec)
    else:
        lines.append("declared by the client but not in the spec: none")
    lines.append("")
    if not report.per_extension:
        lines.append("extensions: no recorded contracts found, extension routes not counted")
    for ext_id, count in report.per_extension.items():
        lines.append(f"extension {ext_id}: {count.covered}/{count.total} contract routes")
    lines.extend(f"  UNCOVERED {m} {p}" for m, p in report.extension_uncovered)
    lines.extend(f"  NOT IN ANY CONTRACT {m} {p}" for m, p in report.extension_unknown)
    ext_covered = sum(c.covered for c in report.per_extension.values())
    ext_total = sum(c.total for c in report.per_extension.values())
    lines.append(f"coverage_ext={ext_covered}/{ext_total}")
    if exercised_ops is None:
        lines.append(
            "exercised: not recorded (make api-exercised, or run tests with "
            "LNPILOT_API_EXERCISED=FILE and pass --exercised FILE)"
        )
    else:
        lines.append(f"exercised by the recorded test runs ({exercised_ops.source}):")
        done = set(exercised_ops.core)
        lines.extend(f"  DECLARED, NOT EXERCISED {op}" for op in report.covered if op not in done)
        lines.append(f"coverage_exercised_ext={exercised_ops.ext}/{exercised_ops.ext_total}")
        lines.append(exercised_ops.coverage_line)
    lines.append(report.coverage_line)
    return "\n".join(lines)


def load_spec(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def fetch_spec(url: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """A live server's OpenAPI document (``<url>/openapi.json``)."""
    import httpx

    response = httpx.get(url.rstrip("/") + "/openapi.json", timeout=timeout_s)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def ci_required() -> bool:
    """On CI a measurement that could not run must fail, not pass by skipping."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--spec", type=Path, default=None, help=f"OpenAPI JSON file (default: {DEFAULT_SPEC})"
    )
    source.add_argument("--url", help="read <URL>/openapi.json from a running LNbits instead")
    parser.add_argument(
        "--exercised",
        type=Path,
        default=DEFAULT_EXERCISED,
        help=f"operations answered in recorded test runs (default: {DEFAULT_EXERCISED})",
    )
    args = parser.parse_args(argv)

    if args.url:
        try:
            spec = fetch_spec(args.url)
        except Exception as exc:  # any failure to fetch means: nothing measured
            print(f"api-coverage: cannot read {args.url}/openapi.json: {exc}", file=sys.stderr)
            return 1
        where = f"{args.url.rstrip('/')}/openapi.json"
    else:
        path: Path = args.spec or DEFAULT_SPEC
        if not path.is_file():
            message = (
                f"api-coverage: spec file {path} not found; nothing measured. Put LNbits' "
                "openapi.json there, pass --spec FILE, or --url http://host:port."
            )
            print(message, file=sys.stderr)
            if ci_required():
                print("api-coverage: CI=true, so a missing spec fails the run.", file=sys.stderr)
                return 1
            return 0
        spec = load_spec(path)
        where = str(path)

    report = match(spec)
    answered = load_exercised(args.exercised)
    seen = exercised(spec, answered, source=str(args.exercised)) if answered is not None else None
    print(render(report, source=where, exercised_ops=seen))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
