"""The layers of ``docs/architecture.md`` hold: every import in ``src/lnpilot`` points down.

A package may import its own modules and any package of a lower layer; importing a package
of the same layer (sideways) or of a higher one (upward) fails this test, naming the file,
the import and the rule. The simulator and the dev servers are product code but no engine
may depend on them: only the layers that compose a process (lab, cli) import them.

Today's exceptions are listed with the reason for each and the change that removes it. The
list can only shrink: an exception that no longer occurs fails the test too, so it is
deleted in the change that makes it unnecessary. The imports are read from the source
(``ast``), so an import inside a function or under ``TYPE_CHECKING`` counts the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lnpilot"

#: Lowest first. A package not written yet (controller) has its place already, so it
#: lands in the right layer.
LAYERS: list[tuple[str, frozenset[str]]] = [
    ("bottom", frozenset({"base"})),
    ("clients and simulators", frozenset({"lnbits", "simnet"})),
    # servers for tests and the demo (a real LNbits, the fault proxy, the Boltz stand-in),
    # built on the client
    ("dev servers", frozenset({"devtools"})),
    ("state and the node", frozenset({"node", "store"})),
    (
        "engines",
        frozenset(
            {
                "collect",
                "fees",
                "rebalance",
                "monitor",
                "notify",
                "lifecycle",
                "backup",
                "controller",
            }
        ),
    ),
    # the settings, and the wiring of the client and the node from them; no engine reads it
    ("configuration", frozenset({"config"})),
    ("composition", frozenset({"service"})),
    # the daemon's own loops (service/) run in virtual time over simnet
    ("composition in virtual time", frozenset({"lab"})),
    # a policy tried on a model of the operator's node: builds a simnet scenario, runs the lab
    ("backtest", frozenset({"backtest"})),
    ("faces", frozenset({"api", "web"})),
    ("entry point", frozenset({"cli"})),
]
RANK = {package: rank for rank, (_, packages) in enumerate(LAYERS) for package in packages}

#: Imported only by these packages, whatever their layer: the simulator and the dev
#: servers are for processes that set up a network (lab, ``lnpilot demo``/``simnet``/``dev``).
ONLY_FROM = {
    # backtest writes the scenario of the operator's node and runs it (simnet's scenario
    # and Simulation); no engine imports it still
    "simnet": frozenset({"lab", "backtest", "cli"}),
    "devtools": frozenset({"cli"}),
}

#: (importing file, imported module) -> why it is allowed for now, and what removes it.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def _package(path: Path) -> str | None:
    """The top-level package a source file belongs to (``config.py`` is its own)."""
    parts = path.relative_to(SRC).parts
    if len(parts) == 1:
        return None if parts[0] == "__init__.py" else parts[0].removesuffix(".py")
    return parts[0]


def _imports(path: Path) -> list[str]:
    """Every ``lnpilot.…`` module the file imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = ["lnpilot", *path.relative_to(SRC).with_suffix("").parts]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                found.append(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.append(node.module)
    return [name for name in found if name.startswith("lnpilot.")]


def _problem(package: str, module: str) -> str | None:
    """What is wrong with `package` importing `module`, or None when it is allowed."""
    target = module.split(".")[1]
    if target == package or target not in RANK:
        return None
    if target in ONLY_FROM and package not in ONLY_FROM[target]:
        return f"{target}/ is imported only from {sorted(ONLY_FROM[target])}"
    if RANK[target] > RANK[package]:
        return f"upward: {package}/ ({LAYERS[RANK[package]][0]}) below {target}/"
    if RANK[target] == RANK[package]:
        return f"sideways: {package}/ and {target}/ are both {LAYERS[RANK[package]][0]}"
    return None


def _violations() -> dict[tuple[str, str], str]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        package = _package(path)
        if package is None:
            continue
        for module in _imports(path):
            problem = _problem(package, module)
            if problem is not None:
                found[(path.relative_to(SRC).as_posix(), module)] = problem
    return found


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    packages |= {p.stem for p in SRC.glob("*.py") if p.name != "__init__.py"}
    unplaced = sorted(packages - RANK.keys())
    assert not unplaced, f"give these a layer in LAYERS and docs/architecture.md: {unplaced}"


def test_imports_point_down() -> None:
    violations = _violations()
    new = [
        f"{file}: import {module}: {why}"
        for (file, module), why in violations.items()
        if (file, module) not in EXCEPTIONS
    ]
    assert not new, "imports against the layers:\n" + "\n".join(new)


def test_exceptions_only_shrink() -> None:
    stale = sorted(set(EXCEPTIONS) - set(_violations()))
    assert not stale, f"these exceptions no longer occur: delete them from EXCEPTIONS: {stale}"


def test_the_check_sees_a_wrong_import() -> None:
    """The rules themselves: a store importing an engine, an engine importing another, an
    engine importing the simulator and the client importing the node are all refused."""
    assert _problem("store", "lnpilot.fees.policy") is not None
    assert _problem("rebalance", "lnpilot.collect.collector") is not None
    assert _problem("monitor", "lnpilot.simnet.simulation") is not None
    assert _problem("lnbits", "lnpilot.node.backend") is not None
    assert _problem("api", "lnpilot.store.reads") is None
    assert _problem("backtest", "lnpilot.simnet.scenario") is None
    assert _problem("backtest", "lnpilot.lab.run") is None
    assert _problem("lab", "lnpilot.backtest.run") is not None
