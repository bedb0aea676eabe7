"""Fixtures for the media relay tests: loopback-only ICE and a room that must end clean."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from streaming.loopback import restore_host_addresses, use_loopback_only
from streaming.room import MediaRoom


@pytest.fixture(autouse=True)
def loopback_ice() -> Iterator[None]:
    """aioice skips 127.0.0.1 and would offer every interface: keep tests on loopback."""
    use_loopback_only()
    yield
    restore_host_addresses()


@pytest.fixture
async def room() -> AsyncIterator[MediaRoom]:
    media_room = MediaRoom("test-session", [])
    yield media_room
    await media_room.close()
    counts = media_room.live_counts()
    assert counts.peer_connections == 0 and counts.relay_tasks == 0, counts
