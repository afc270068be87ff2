"""Node ownership between daemons (``lnpilot.service.ownership``), on the real PostgreSQL.

It lives beside the store's tests for their ``database_url`` fixture: a fresh PostgreSQL
database when ``CI=true`` or ``LNPILOT_TEST_PG_URL`` says so, and SQLite, where ownership
is a no-op. Each check is driven by the test: no sleeps, no timing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from lnpilot.service.ownership import Ownership, Role, ownership_key

PUBKEY = "02" + "ab" * 32
OTHER_PUBKEY = "03" + "cd" * 32


@pytest.fixture
async def daemons(database_url: URL) -> AsyncIterator[tuple[Ownership, Ownership]]:
    """Two daemons' claims on the same node, closed at the end."""
    first, second = Ownership(database_url, PUBKEY), Ownership(database_url, PUBKEY)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


def _on_postgresql(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


async def test_one_owner_and_one_standby(
    database_url: URL, daemons: tuple[Ownership, Ownership]
) -> None:
    first, second = daemons
    assert await first.check() is Role.OWNER
    expected = Role.STANDBY if _on_postgresql(database_url) else Role.OWNER  # SQLite: no-op
    assert await second.check() is expected
    assert await first.check() is Role.OWNER  # the owner keeps it, check after check
    assert await second.check() is expected


async def test_closing_the_owner_hands_the_node_to_the_standby(
    database_url: URL, daemons: tuple[Ownership, Ownership]
) -> None:
    if not _on_postgresql(database_url):
        pytest.skip("SQLite has one daemon per file: nothing to hand over")
    first, second = daemons
    assert await first.check() is Role.OWNER
    assert await second.check() is Role.STANDBY
    await first.close()
    assert await second.check() is Role.OWNER
    assert await first.check() is Role.STANDBY  # a closed claim retries, and finds it taken


async def test_a_killed_owner_session_is_taken_over_and_the_old_owner_steps_down(
    database_url: URL, daemons: tuple[Ownership, Ownership]
) -> None:
    """The owner's backend ended from outside, as when its process is killed: the standby
    owns the node at its next check, and the old owner, finding its connection dead and
    the lock taken, becomes standby instead of acting on a node it no longer owns."""
    if not _on_postgresql(database_url):
        pytest.skip("SQLite has one daemon per file: nothing to take over")
    first, second = daemons
    assert await first.check() is Role.OWNER
    assert await second.check() is Role.STANDBY
    key = ownership_key(PUBKEY) & 0xFFFF_FFFF_FFFF_FFFF
    admin = create_async_engine(database_url)
    try:
        async with admin.connect() as conn:
            holders = (
                await conn.scalars(
                    text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND classid::bigint = :hi AND objid::bigint = :lo"
                    ),
                    {"hi": key >> 32, "lo": key & 0xFFFF_FFFF},
                )
            ).all()
            assert len(holders) == 1
            # With a timeout it returns once the backend has exited (the bound only
            # keeps a stuck server from hanging the test).
            ended = await conn.scalar(
                text("SELECT pg_terminate_backend(CAST(:pid AS integer), 60000)"),
                {"pid": holders[0]},
            )
            assert ended
    finally:
        await admin.dispose()
    assert await second.check() is Role.OWNER
    assert await first.check() is Role.STANDBY


async def test_another_node_is_owned_independently(database_url: URL) -> None:
    mine, theirs = Ownership(database_url, PUBKEY), Ownership(database_url, OTHER_PUBKEY)
    try:
        assert await mine.check() is Role.OWNER
        assert await theirs.check() is Role.OWNER
    finally:
        await mine.close()
        await theirs.close()


def test_the_key_is_a_stable_bigint_and_an_empty_pubkey_is_refused() -> None:
    key = ownership_key(PUBKEY)
    assert key == ownership_key(PUBKEY)
    assert -(2**63) <= key < 2**63
    assert key != ownership_key(OTHER_PUBKEY)
    with pytest.raises(ValueError, match="pubkey"):
        ownership_key("")
