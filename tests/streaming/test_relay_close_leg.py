"""``MediaRoom.close_leg``: one leg of a participant goes, the other keeps running."""

from __future__ import annotations

import pytest
from relay_test_peers import start_publisher, start_subscriber

from server.domain.errors import BadInput
from streaming.room import MediaRoom


async def test_close_one_leg_keeps_the_other(room: MediaRoom) -> None:
    teacher = await start_publisher(room, "teacher")
    site = await start_publisher(room, "site-1")
    site_rx = await start_subscriber(room, "site-1", ["teacher"], stage=False)
    try:
        await site_rx.slots["teacher/camera"].wait_frames(10)
        assert await room.close_leg("site-1", "publish") is True
        assert "site-1" not in room.publishers and "site-1" in room.subscribers
        assert all(s.key.publisher_id != "site-1" for s in room.hub.sources)
        before = site_rx.slots["teacher/camera"].frames
        await site_rx.slots["teacher/camera"].wait_frames(before + 10)  # still receiving
        assert await room.close_leg("site-1", "publish") is False  # idempotent
        assert await room.close_leg("nobody", "subscribe") is False
        with pytest.raises(BadInput):
            await room.close_leg("site-1", "both")
        assert await room.close_leg("site-1", "subscribe") is True
        assert "site-1" not in room.subscribers and "teacher" in room.publishers
        assert room.live_counts().peer_connections == 1
    finally:
        await site_rx.close()
        await site.close()
        await teacher.close()
