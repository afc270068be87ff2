"""The value types of the policy language, shared by the policy file and the strategies.

They live below both so that a strategy module can declare its own parameter table with the
same units and the same error messages as the rest of the file (:mod:`.strategies.registry`)
without importing the policy, which is built from the strategies' registrations.

Units inside follow the code's rules: fee rates in ppm, base fees in msat, durations in
seconds (the file writes ``"6h"``), ratios as integer per mille (the file writes ``0.3``).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class StrictModel(BaseModel):
    """A table of the policy file: unknown keys are errors, values do not change once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def problems(self) -> list[str]:
        """What is wrong across this table's keys, one sentence each (the policy names where:
        a table is checked as written in each rule, before rules are merged)."""
        return []


DAY_S = 86_400
_DURATION = re.compile(r"\s*(\d+)\s*([smhdw])\s*")
_DURATION_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": DAY_S, "w": 7 * DAY_S}


def _duration_s(value: object) -> object:
    """``"90s"``, ``"30m"``, ``"6h"``, ``"7d"``, ``"2w"`` (or plain seconds) to seconds."""
    if isinstance(value, str):
        found = _DURATION.fullmatch(value)
        if found is None:
            raise ValueError("a duration such as '90s', '30m', '6h', '7d' or '2w'")
        return int(found[1]) * _DURATION_UNITS_S[found[2]]
    return value


def format_duration(seconds: int, *, approximate: bool = False) -> str:
    """Seconds as the file writes them, in the largest unit that divides them (``"7d"``);
    ``approximate`` rounds down to the largest unit that fits instead (for elapsed times)."""
    for unit, size in (("d", DAY_S), ("h", 3600), ("m", 60)):
        fits = seconds >= size if approximate else seconds and seconds % size == 0
        if fits:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _permille(value: object) -> object:
    """A ratio written ``0.3`` to the integer 300 per mille."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= 1:
            raise ValueError("a ratio between 0 and 1")
        return round(value * 1000)
    return value


DurationS = Annotated[int, BeforeValidator(_duration_s), Field(gt=0)]
Permille = Annotated[int, BeforeValidator(_permille)]
Ppm = Annotated[int, Field(ge=0, le=1_000_000)]
InboundPpm = Annotated[int, Field(ge=-1_000_000, le=0)]
Msat = Annotated[int, Field(ge=0, le=100_000_000)]
InboundMsat = Annotated[int, Field(ge=-100_000_000, le=0)]
Pct = Annotated[int, Field(ge=0, le=1000)]
