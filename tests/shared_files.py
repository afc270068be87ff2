"""The project's shared material (``../shared`` beside the repository: LND specifications,
graph snapshots, recorded exchanges), which is not part of the repository.

A test that needs it asks :func:`shared_path`: on a user's plain clone it is skipped with the
reason, and on CI (``CI=true``) it fails, because there a skip would pass while testing
nothing. ``LNPILOT_SHARED_DIR`` points elsewhere when the material lives somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lnpilot.devtools import lnbits_required as ci_requires_real_servers

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    override = os.environ.get("LNPILOT_SHARED_DIR", "").strip()
    return Path(override) if override else REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """``../shared/<parts>``, or skip (fail on CI) naming what is missing and why."""
    path = shared_dir().joinpath(*parts)
    if not path.exists():
        reason = f"{path} is missing (the shared material is outside the repository)"
        if ci_requires_real_servers():
            pytest.fail(f"{reason}; CI must provide it (or LNPILOT_SHARED_DIR)")
        pytest.skip(reason)
    return path
