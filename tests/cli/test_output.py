"""Output that is not going to a terminal keeps whole rows: no folding to 80 columns."""

from __future__ import annotations

import pytest

from lnpilot.cli import output


def test_a_wide_table_stays_one_line_per_row_in_a_pipe(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    table = output.table("wide", *(f"column {i}" for i in range(12)))
    table.add_row(*(f"value-{i} " * 3 for i in range(12)))
    output.stdout.print(table)
    lines = capsys.readouterr().out.splitlines()
    row = [line for line in lines if "value-0" in line]
    assert len(row) == 1 and "value-11 value-11 value-11" in row[0]
    assert len(row[0].rstrip()) > 200


def test_columns_still_sets_the_width(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    output.stdout.print("word " * 30)
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 60
