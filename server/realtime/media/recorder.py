"""The lesson's recording: while the session is live, the session state says it is on (the
teacher's ``recording.start`` / ``recording.stop``) and the teacher publishes, the teacher's
camera and microphone (one file) and screen (a second file, same stem + ``.screen``) are
muxed (no re-encode) into ``<data_dir>/recordings/session-<id>/`` on the lesson clock
(``recording``); stopped on session end or runtime close. The leaders are told each time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Final

from server.domain.errors import NotFound
from server.domain.live import LiveAggregate, SessionStatus
from server.domain.media import policy
from server.realtime.media.announcer import Announcer
from server.realtime.media.recording import new_path, part_path
from streaming import MediaRoom, VideoCodec
from streaming.recording import screen_path_for

# Camera + microphone go to lesson-*.webm (stream 0 camera, 1 microphone), the screen to
# lesson-*.screen.webm; each file is created when its tracks first send (streaming/recording.py).
RECORDED_LABELS: Final = ("camera", "microphone", "screen")


class Recorder:
    def __init__(self, data_dir: Path, session_id: int, announcer: Announcer) -> None:
        self.data_dir = data_dir
        self.session_id = session_id
        self.announcer = announcer
        self.path: Path | None = None  # the final name of the recording in progress

    def maybe_start(self, room: MediaRoom | None, live: LiveAggregate) -> None:
        if room is None or self.path is not None:
            return
        if live.status is not SessionStatus.LIVE or live.started_at is None:
            return
        if not live.recording_on:  # the teacher starts it (recording.start)
            return
        if policy.TEACHER_ID not in room.publishers:
            return
        suffix = ".webm" if room.video_codec is VideoCodec.VP8 else ".mkv"
        final = new_path(self.data_dir, self.session_id, time.time(), suffix)
        room.start_recording(
            part_path(final), policy.TEACHER_ID, live.started_at, labels=RECORDED_LABELS
        )
        self.path = final
        self.announcer.tell("media.recording", {"state": "started", "name": final.name})

    def stop(self, room: MediaRoom | None) -> None:
        final, self.path = self.path, None
        if final is None or room is None:
            return
        try:
            room.stop_recording()
        except NotFound:
            return
        names = []
        for done in (final, screen_path_for(final)):
            part = part_path(done)
            if part.exists():
                part.replace(done)
                names.append(done.name)
        stopped = {"state": "stopped", "name": final.name, "files": names}
        self.announcer.tell("media.recording", stopped)
