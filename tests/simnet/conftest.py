"""Fixtures of the simnet unit tests."""

from __future__ import annotations

import pytest
from simnet_helpers import Line, build_line


@pytest.fixture
def line() -> Line:
    return build_line()
