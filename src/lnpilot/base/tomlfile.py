"""Reading a TOML file into a strict pydantic model, and saying what is wrong with it.

Every file lnpilot reads (``lnpilot.toml``, ``fees.toml``, ``alerts.toml``, simnet scenarios)
is validated whole when it is loaded, and each problem becomes one line naming where it is,
the key, the bad value (unless it is a secret or a whole table) and what is allowed. The
reading, the strict base model and that wording are here once, so the files agree with each
other; what differs per file (how a location is called, which keys are secret) is passed in
as a :class:`Wording`.
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from lnpilot.base.redact import MASK

#: A location in a file as pydantic reports it: keys and list positions.
Loc = tuple[int | str, ...]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """The base of every model read from a file: an unknown key is an error, because a typo
    (``admin_kye``) would otherwise leave the real key at its default far from the cause,
    and a loaded configuration is frozen, because nothing should change it behind the
    journal's back."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FileProblems(ValueError):
    """A file that cannot be used; ``problems`` holds one readable line per problem.

    Each loader raises its own subclass (``PolicyError``, ``ConfigError``, ...) so a caller
    can tell which file was wrong; one problem may be given alone as a string."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else problems
        super().__init__("\n".join(self.problems))


def parse_toml(text: str, source: str, error: type[FileProblems]) -> dict[str, Any]:
    """The tables of TOML `text`; `error` names `source` when it is not TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error([f"{source}: not valid TOML: {exc}"]) from None


def read_text(path: Path, error: type[FileProblems]) -> str:
    """The text of `path`; `error` names the path and why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise error([f"{path}: cannot read: {reason}"]) from None


def dotted(loc: Loc) -> str:
    """``rule.0.match``: the location as the TOML file's dotted keys."""
    return ".".join(str(part) for part in loc)


def indexed(loc: Loc) -> str:
    """``channels[0].capacity``: list positions in brackets, for files of arrays of tables."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _no_context(loc: Loc) -> tuple[str, Loc]:
    return "", loc


def _never_secret(loc: Loc) -> bool:
    return False


@dataclass(frozen=True)
class Wording:
    """What differs between files in how problems are named; the defaults suit most.

    ``context`` splits a location into words for where it is (``rule 'x' (#1)``, or the
    environment variable a value came from) and the rest, which ``key`` writes out;
    ``secret`` says which values are masked; ``key_first`` writes ``key: unknown key`` for
    files whose every line starts with the key; ``missing`` may replace the line of a
    required key (the main configuration says where it can be set)."""

    context: Callable[[Loc], tuple[str, Loc]] = _no_context
    key: Callable[[Loc], str] = dotted
    secret: Callable[[Loc], bool] = _never_secret
    key_first: bool = False
    tables: bool = False
    missing: Callable[[Loc], list[str]] | None = None


def describe(exc: ValidationError, model: type[BaseModel], wording: Wording) -> list[str]:
    """One line per problem in `exc` (raised validating `model`): where, key, value, what
    is allowed. Secrets and whole tables are not shown as values."""
    lines = []
    for error in exc.errors(include_url=False):
        loc: Loc = tuple(error["loc"])
        if error["type"] == "missing" and wording.missing is not None:
            lines += wording.missing(loc)
            continue
        where, rest = wording.context(loc)
        key = wording.key(rest)
        prefix = f"{where}: " if where else ""
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(allowed_keys(model, loc[:-1]))
            tail = f"; allowed here: {allowed}" if allowed else ""
            unknown = f"{key}: unknown key" if wording.key_first else f"unknown key {key!r}"
            lines.append(f"{prefix}{unknown}{tail}")
            continue
        message = error["msg"].removeprefix("Value error, ")
        shown = _shown(error["type"], rest, error.get("input"), wording, loc)
        named = f"{key}{shown}: " if key or shown else ""
        lines.append(f"{prefix}{named}{message}")
    return lines


def _shown(kind: str, rest: Loc, value: Any, wording: Wording, loc: Loc) -> str:
    """`` = value`` for the line, or nothing: not for a missing key (the input is the table
    around it), nor for the whole file or a rule as a whole, nor for a table unless the
    file has no secrets; a secret is masked."""
    if kind == "missing" or not rest or isinstance(value, SecretStr):
        return ""
    if isinstance(value, Mapping | list) and not wording.tables:
        return ""
    return f" = {MASK}" if wording.secret(loc) else f" = {value!r}"


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the table at `loc` accepts, as written in the file (aliases first)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            break
        if isinstance(part, int):
            continue
        field = next(
            (f for name, f in current.model_fields.items() if (f.alias or name) == part),
            None,
        )
        if field is None:  # a dict key such as a channel id: the model is the dict's values
            continue
        current = model_in(field.annotation)
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside an annotation such as ``list[Rule]`` or ``Match | None``;
    None when there is none, or several (a union of receiver kinds: which keys are allowed
    depends on the kind, so no list is better than the wrong one)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return model_in(typing.get_args(annotation)[0])
    if origin in (list, dict, types.UnionType, typing.Union):
        found = {model_in(arg) for arg in typing.get_args(annotation)} - {None}
        return found.pop() if len(found) == 1 else None
    return None


def validate(
    model: type[M],
    data: Mapping[str, Any],
    source: str,
    error: type[FileProblems],
    wording: Wording = Wording(),
) -> M:
    """`data` as `model`; `error` lists every problem, each line starting with `source`
    (unless it is empty: then the wording's context says where each value came from)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = describe(exc, model, wording)
        raise error([f"{source}: {line}" if source else line for line in lines]) from None


def load_toml(
    path: Path, model: type[M], error: type[FileProblems], wording: Wording = Wording()
) -> M:
    """Read, parse and validate the TOML file at `path` as `model`; `error` names every
    problem (unreadable, not TOML, or each bad key), each line starting with the path."""
    source = str(path)
    return validate(
        model, parse_toml(read_text(path, error), source, error), source, error, wording
    )
