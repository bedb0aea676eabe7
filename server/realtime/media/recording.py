"""Where lesson recordings live on disk, how they are named, listed and safely opened.

``<data_dir>/recordings/session-<id>/lesson-<UTC start>[-n].webm`` holds the teacher's camera
and microphone; ``lesson-<UTC start>[-n].screen.webm`` (same stem) the screen share, if any
(``.mkv`` for H264). A recording is written to ``<name>.part`` and renamed when it stops, so
listings show only finished files (a ``.part`` left by a crash is never listed or served).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from server.domain.errors import NotFound
from server.domain.media.retention import expired
from streaming.recording import screen_path_for

NAME_RE: Final = re.compile(r"^lesson-[0-9]{8}T[0-9]{6}Z(-[0-9]{1,4})?(\.screen)?\.(webm|mkv)$")
MEDIA_TYPES: Final = {".webm": "video/webm", ".mkv": "video/x-matroska"}
PART: Final = ".part"
SESSION_DIR_RE: Final = re.compile(r"^session-[0-9]{1,12}$")


def session_dir(data_dir: Path, session_id: int) -> Path:
    return Path(data_dir) / "recordings" / f"session-{int(session_id)}"


def new_path(data_dir: Path, session_id: int, now: float, suffix: str = ".webm") -> Path:
    """A fresh final path (neither it nor its screen file exists, nor their ``.part``)."""
    folder = session_dir(data_dir, session_id)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in range(10_000):
        name = f"lesson-{stamp}{'' if n == 0 else f'-{n}'}{suffix}"
        path = folder / name
        taken = (path, part_path(path), screen_path_for(path), part_path(screen_path_for(path)))
        if not any(p.exists() for p in taken):
            return path
    raise FileExistsError("too many recordings in one second")


def part_path(final: Path) -> Path:
    return final.with_name(final.name + PART)


@dataclass(frozen=True, slots=True)
class RecordingFile:
    name: str
    bytes: int
    modified_at: float
    media_type: str


def list_recordings(data_dir: Path, session_id: int) -> list[RecordingFile]:
    folder = session_dir(data_dir, session_id)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if NAME_RE.match(path.name) and path.is_file():
            stat = path.stat()
            found.append(
                RecordingFile(path.name, stat.st_size, stat.st_mtime, MEDIA_TYPES[path.suffix])
            )
    return found


def open_recording(data_dir: Path, session_id: int, name: str) -> RecordingFile:
    """The named finished recording of this session; NotFound for anything else (including
    names that try to leave the folder: only ``NAME_RE`` names are looked up)."""
    if not NAME_RE.match(name):
        raise NotFound("no such recording")
    for item in list_recordings(data_dir, session_id):
        if item.name == name:
            return item
    raise NotFound("no such recording")


def purge_recordings(data_dir: Path, now: float, retention_days: int) -> list[Path]:
    """Delete every finished recording (any session) older than ``retention_days``, by the time
    it was finished (its last change); the deleted paths. ``.part`` files of a recording in
    progress are left alone."""
    root = Path(data_dir) / "recordings"
    if not root.is_dir():
        return []
    deleted: list[Path] = []
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or not SESSION_DIR_RE.match(folder.name):
            continue
        files = {p.name: p for p in folder.iterdir() if NAME_RE.match(p.name) and p.is_file()}
        finished = [(n, p.stat().st_mtime) for n, p in files.items()]
        for name in expired(finished, now, retention_days):
            files[name].unlink(missing_ok=True)
            deleted.append(files[name])
    return deleted
