"""Recording of the lesson as session state: the teacher starts and stops it, and everyone's
indicator is derived from this state (the snapshot's ``recording`` and the
``recording.started`` / ``recording.stopped`` events), never from a guess on the page. The
media relay follows the events (it writes the file only while the state says "on"); the end of
the lesson stops the recording."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.events import EVERYONE, Event
from server.domain.live.commands import StartRecording, StopRecording
from server.domain.live.context import Context

RecordingCommand = StartRecording | StopRecording


@dataclass(slots=True)
class RecordingBook:
    on: bool = False
    since: float | None = None
    takes: int = 0
    """How many times recording was started in this lesson."""

    def view(self) -> dict[str, Any]:
        return {"on": self.on, "since": self.since, "takes": self.takes}

    def apply(self, event: Event) -> None:
        if event.type == "recording.started":
            self.on, self.since = True, event.at
            self.takes += 1
        elif event.type == "recording.stopped":
            self.on, self.since = False, None

    def stop_at_end(self) -> None:
        self.on, self.since = False, None


def decide(ctx: Context, book: RecordingBook, command: RecordingCommand) -> list[Event]:
    ctx.require_leader("start or stop the recording")
    ctx.require_live()
    starting = isinstance(command, StartRecording)
    if book.on == starting:
        return []  # already in the wanted state
    data = {"by": ctx.actor.user_id}
    return [ctx.event("recording.started" if starting else "recording.stopped", data, EVERYONE)]
