"""Live captions as a WebVTT file for the lesson recording (written with ``webvtt-py``).

Cue times are on the lesson clock, like the recording (which starts at the lesson's start), so
the file lines up with it. A cue lasts until the next one starts, at most ``MAX_CUE_SECONDS``
and at least ``MIN_CUE_SECONDS`` (two captions at the same moment still each get a cue).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import webvtt

from server.domain.events import Event

MAX_CUE_SECONDS: Final = 6.0
MIN_CUE_SECONDS: Final = 0.5


@dataclass(frozen=True, slots=True)
class Cue:
    start: float
    text: str


def cues_from(events: Iterable[Event]) -> list[Cue]:
    """The ``caption.added`` events of a session's log, in lesson-clock order."""
    found = [
        (e.data["start"], e.data["caption_id"], e.data["text"])
        for e in events
        if e.type == "caption.added"
    ]
    return [Cue(float(start), text) for start, _, text in sorted(found)]


def timestamp(seconds: float) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def to_webvtt(cues: Sequence[Cue]) -> str:
    vtt = webvtt.WebVTT()
    for i, cue in enumerate(cues):
        following = cues[i + 1].start if i + 1 < len(cues) else cue.start + MAX_CUE_SECONDS
        end = min(max(following, cue.start + MIN_CUE_SECONDS), cue.start + MAX_CUE_SECONDS)
        # the typed text is text: "&" and "<" are escaped (WebVTT would read them as entities
        # and tags); a blank line would end the cue, so blank lines are dropped
        lines = [_escape(line) for line in cue.text.splitlines() if line.strip()] or ["…"]
        vtt.captions.append(
            webvtt.Caption(timestamp(cue.start), timestamp(end), lines, identifier=str(i + 1))
        )
    return vtt.content


def _escape(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
