"""Starting the real LNbits for a test, with the session's rule for a missing one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from lnpilot.devtools import LNbitsServer, LNbitsUnavailable, lnbits_required


@contextlib.contextmanager
def lnbits_for_tests(server: LNbitsServer) -> Iterator[LNbitsServer]:
    """Start ``server`` for a test and always stop it.

    LNbits not installed: the test is skipped with the reason, except on CI
    (:func:`lnbits_required`), where a skip would hide that nothing was tested, so it fails.
    An installed LNbits that does not start always fails.
    """
    try:
        server.start()
    except LNbitsUnavailable as exc:
        if lnbits_required():
            raise
        pytest.skip(f"real LNbits not available: {exc}")
    try:
        yield server
    finally:
        server.stop()
