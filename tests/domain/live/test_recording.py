"""Recording as session state: the teacher starts and stops it, everyone's snapshot agrees, the
end of the lesson stops it; others are refused."""

from __future__ import annotations

from server.domain.errors import InvalidState, NotPermitted
from server.domain.events import EVERYONE
from server.domain.live.commands import EndSession, StartRecording, StopRecording
from server.domain.media.retention import DAY, expired

from .conftest import ADMIN, EVERYBODY, FAC_A, STU_A1, T0, TEACHER, Harness, of_type


def views(h: Harness) -> set[bool]:
    return {h.session.snapshot_for(a)["recording"]["on"] for a in EVERYBODY}


def test_teacher_starts_and_stops_and_everyone_agrees(h: Harness) -> None:
    h.start()
    assert views(h) == {False}
    started = of_type(h.do(TEACHER, StartRecording(), T0 + 5), "recording.started")
    assert started.audience == EVERYONE and started.data == {"by": TEACHER.user_id}
    assert views(h) == {True} and h.session.recording_on
    assert h.session.snapshot_for(STU_A1)["recording"]["since"] == T0 + 5
    assert h.do(TEACHER, StartRecording(), T0 + 6) == []  # already on
    h.do(ADMIN, StopRecording(), T0 + 7)
    assert views(h) == {False}
    h.do(TEACHER, StartRecording(), T0 + 8)
    assert h.session.snapshot_for(TEACHER)["recording"]["takes"] == 2


def test_end_of_lesson_stops_recording(h: Harness) -> None:
    h.start()
    h.do(TEACHER, StartRecording(), T0 + 5)
    h.do(TEACHER, EndSession(), T0 + 10)
    assert views(h) == {False}
    h.refuse(TEACHER, StartRecording(), T0 + 11, InvalidState)


def test_only_the_teacher_records(h: Harness) -> None:
    h.start()
    h.refuse(STU_A1, StartRecording(), T0 + 1, NotPermitted)
    h.refuse(FAC_A, StartRecording(), T0 + 1, NotPermitted)


def test_not_before_the_lesson_starts(h: Harness) -> None:
    h.refuse(TEACHER, StartRecording(), T0 - 1, InvalidState)


def test_retention_verdicts() -> None:
    files = [("old.webm", T0 - 31 * DAY), ("new.webm", T0 - 29 * DAY)]
    assert expired(files, T0, 30) == ["old.webm"]
    assert expired(files, T0, 0) == []
