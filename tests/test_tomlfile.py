"""The one TOML loader and error wording every file of lnpilot goes through (lnpilot.base.tomlfile).

The loaders' own tests pin each file's messages; these pin the shared rules they rely on:
secrets are masked, a table is shown only where the file allows it, the allowed keys are
named unless the table's kind is ambiguous, and reading and parsing fail with the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import Field, SecretStr

from lnpilot.base.tomlfile import (
    FileProblems,
    StrictModel,
    Wording,
    load_toml,
    parse_toml,
    validate,
)


class _Error(FileProblems):
    pass


class _Range(StrictModel):
    min: int = 0
    max: int = 0


class _Mail(StrictModel):
    type: Literal["mail"]
    password: SecretStr


class _Hook(StrictModel):
    type: Literal["hook"]
    url: str


class _File(StrictModel):
    name: str
    size: _Range = _Range()
    token: str = ""
    receivers: dict[str, Annotated[_Mail | _Hook, Field(discriminator="type")]] = Field(
        default_factory=dict
    )


def _problems(data: dict[str, object], wording: Wording = Wording()) -> list[str]:
    with pytest.raises(_Error) as caught:
        validate(_File, data, "f.toml", _Error, wording)
    return caught.value.problems


def test_each_problem_names_the_key_the_value_and_what_is_allowed() -> None:
    found = _problems({"name": "x", "size": {"mni": 1}, "token": 5})
    assert "f.toml: unknown key 'size.mni'; allowed here: min, max" in found
    assert "f.toml: token = 5: Input should be a valid string" in found
    assert _problems({}) == ["f.toml: name: Field required"]


def test_secrets_are_masked_and_tables_shown_only_when_allowed() -> None:
    secret = Wording(secret=lambda loc: loc[-1] == "token")
    assert "f.toml: token = ***: Input should be a valid string" in _problems(
        {"name": "x", "token": 5}, secret
    )
    assert _problems({"name": "x", "size": 3}) == [
        "f.toml: size = 3: Input should be a valid dictionary or instance of _Range"
    ]
    listed = {"name": "x", "size": [1]}
    assert _problems(listed) == [
        "f.toml: size: Input should be a valid dictionary or instance of _Range"
    ]
    assert _problems(listed, Wording(tables=True))[0].startswith("f.toml: size = [1]: ")


def test_no_allowed_keys_where_the_kind_decides_them() -> None:
    found = _problems({"name": "x", "receivers": {"r": {"type": "hook", "url": "u", "x": 1}}})
    assert found == ["f.toml: unknown key 'receivers.r.hook.x'"]


def test_key_first_wording() -> None:
    found = _problems({"name": "x", "size": {"mni": 1}}, Wording(key_first=True))
    assert found == ["f.toml: size.mni: unknown key; allowed here: min, max"]


def test_unreadable_and_not_toml_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(_Error, match=r"missing\.toml: cannot read: No such file or directory"):
        load_toml(tmp_path / "missing.toml", _File, _Error)
    with pytest.raises(_Error, match=r"^f\.toml: not valid TOML: "):
        parse_toml("[x", "f.toml", _Error)
    path = tmp_path / "ok.toml"
    path.write_text('name = "x"\n[size]\nmax = 3\n')
    assert load_toml(path, _File, _Error).size == _Range(max=3)
