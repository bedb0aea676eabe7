"""Publisher -> relay -> subscribers over loopback, with real aiortc peers that decode."""

from __future__ import annotations

import asyncio

from relay_test_peers import HEIGHT, WIDTH, start_publisher, start_subscriber

from streaming.room import MediaRoom


async def test_frames_arrive_and_decode_at_publisher_size(room: MediaRoom) -> None:
    publisher = await start_publisher(room, "teacher")
    subscribers = [await start_subscriber(room, f"s{i}", ["teacher"]) for i in range(3)]
    try:
        for sub in subscribers:
            video = sub.slots["teacher/camera"]
            audio = sub.slots["teacher/microphone"]
            await video.wait_frames(20)
            await audio.wait_frames(20)
            assert video.sizes == {(WIDTH, HEIGHT)}
        stats = await room.stats()
        camera = next(p for p in stats.publishers if p.label == "camera")
        assert camera.frames >= 20 and camera.keyframes >= 1 and camera.bitrate_bps > 0
        sent = [s for s in stats.subscribers if s.slot == "teacher/camera"]
        assert len(sent) == 3 and all(s.frames_sent >= 20 for s in sent)
        assert room.live_counts().peer_connections == 4
    finally:
        for sub in subscribers:
            await sub.close()
        await publisher.close()
    await room.close()
    assert room.live_counts().peer_connections == 0


async def test_late_joiner_gets_a_keyframe_on_request(room: MediaRoom) -> None:
    publisher = await start_publisher(room, "teacher", labels=("camera",))
    early = await start_subscriber(room, "early", ["teacher"], labels=["camera"], stage=False)
    try:
        await early.slots["teacher/camera"].wait_frames(45)  # the first keyframe is long gone
        source = room.hub.sources[0]
        requests_before = source.keyframe_requests
        keyframes_before = source.keyframes
        late = await start_subscriber(room, "late", ["teacher"], labels=["camera"], stage=False)
        try:
            await late.slots["teacher/camera"].wait_frames(5)
            assert late.slots["teacher/camera"].sizes == {(WIDTH, HEIGHT)}
            assert source.keyframe_requests > requests_before
            assert source.keyframes > keyframes_before
        finally:
            await late.close()
    finally:
        await early.close()
        await publisher.close()


async def test_audio_only_mode_receives_no_video_until_switched(room: MediaRoom) -> None:
    publisher = await start_publisher(room, "teacher")
    sub = await start_subscriber(room, "weak", ["teacher"], mode="audio_only", stage=False)
    full = await start_subscriber(room, "full", ["teacher"], stage=False)
    try:
        await sub.slots["teacher/microphone"].wait_frames(50)
        await full.slots["teacher/camera"].wait_frames(20)  # video was flowing meanwhile
        assert sub.slots["teacher/camera"].frames == 0
        room.set_mode("weak", "full")
        await sub.slots["teacher/camera"].wait_frames(3)
        assert sub.slots["teacher/camera"].sizes == {(WIDTH, HEIGHT)}
    finally:
        await sub.close()
        await full.close()
        await publisher.close()


async def test_stage_brings_a_site_to_every_subscriber(room: MediaRoom) -> None:
    teacher = await start_publisher(room, "teacher")
    site = await start_publisher(room, "site-b", allowed=("microphone", "camera"))
    viewer = await start_subscriber(room, "viewer", ["teacher"])
    try:
        await viewer.slots["teacher/camera"].wait_frames(5)
        assert viewer.slots["stage:camera"].frames == 0
        room.set_stage("site-b")
        await viewer.slots["stage:camera"].wait_frames(5)
        await viewer.slots["stage:microphone"].wait_frames(5)
        assert viewer.slots["stage:camera"].sizes == {(WIDTH, HEIGHT)}
        leg = room.subscribers["viewer"]
        bound = {slot.name: room.hub.binding(t) for t, slot in leg.slots.items()}
        assert bound["stage:camera"] is not None and bound["stage:camera"].publisher_id == "site-b"
        room.set_stage(None)
        assert all(
            room.hub.binding(t) is None for t, s in leg.slots.items() if s.name.startswith("stage:")
        )
    finally:
        await viewer.close()
        await site.close()
        await teacher.close()


async def test_peer_count_returns_to_zero_after_participants_leave(room: MediaRoom) -> None:
    publisher = await start_publisher(room, "teacher")
    sub = await start_subscriber(room, "s1", ["teacher"])
    await sub.slots["teacher/camera"].wait_frames(3)
    await room.close_participant("s1")
    await room.close_participant("teacher")
    await sub.close()
    await publisher.close()
    counts = room.live_counts()
    assert counts.peer_connections == 0 and counts.sources == 0 and counts.sinks == 0
    await asyncio.wait_for(room.close(), 10)


async def test_audio_slides_mode_gets_audio_and_screen_keyframes_only() -> None:
    room = MediaRoom("slides", slides_interval=0.5)
    publisher = await start_publisher(room, "teacher", labels=("microphone", "camera", "screen"))
    sub = await start_subscriber(room, "rural", ["teacher"], mode="audio_slides", stage=False)
    try:
        await sub.slots["teacher/screen"].wait_frames(3)
        await sub.slots["teacher/microphone"].wait_frames(25)
        assert sub.slots["teacher/camera"].frames == 0
        assert sub.slots["teacher/screen"].sizes == {(WIDTH, HEIGHT)}
        leg = room.subscribers["rural"]
        screen_track = next(t for t, s in leg.slots.items() if s.name == "teacher/screen")
        screen_source = next(s for s in room.hub.sources if s.key.label == "screen")
        assert screen_track.policy == "keyframes_only"
        assert screen_source.units > 3 * screen_track.sent  # most screen frames were skipped
        stats = await room.stats()
        slot_stats = {s.slot: s for s in stats.subscribers}
        assert slot_stats["teacher/camera"].frames_sent == 0
        assert slot_stats["teacher/screen"].policy == "keyframes_only"
    finally:
        await sub.close()
        await publisher.close()
        await room.close()
    assert room.live_counts().peer_connections == 0


async def test_stats_snapshot_reports_rates_loss_and_round_trip(room: MediaRoom) -> None:
    publisher = await start_publisher(room, "teacher")
    sub = await start_subscriber(room, "s1", ["teacher"], stage=False)
    try:
        await sub.slots["teacher/camera"].wait_frames(5)

        async def until_rtt() -> None:
            while True:
                stats = await room.stats()
                cam = next(s for s in stats.subscribers if s.slot == "teacher/camera")
                if cam.round_trip_time is not None:
                    return
                await asyncio.sleep(0.2)

        await asyncio.wait_for(until_rtt(), 10)  # RTCP RR arrive every 0.5-1.5 s
        stats = await room.stats()
        cam_out = next(s for s in stats.subscribers if s.slot == "teacher/camera")
        cam_in = next(p for p in stats.publishers if p.label == "camera")
        assert cam_out.round_trip_time is not None and 0 <= cam_out.round_trip_time < 1
        assert cam_out.packets_sent > 0 and cam_out.packets_lost == 0
        assert cam_out.source == "teacher/camera" and not cam_out.waiting_for_keyframe
        assert cam_in.packets_received > 0 and cam_in.packets_lost == 0
        assert cam_in.seconds_since_last_frame is not None and cam_in.seconds_since_last_frame < 1
        assert stats.peer_connections == 2
    finally:
        await sub.close()
        await publisher.close()
