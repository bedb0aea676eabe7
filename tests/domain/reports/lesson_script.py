"""A scripted lesson driven through the live domain, with the events it logged, for report tests.

Roster: teacher 1, facilitator 2 (site 10), students 11, 12 and 15 at site 10, 13 at site 20,
14 at home. Student 15 never joins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.domain.events import Event
from server.domain.live import LiveAggregate
from server.domain.live.commands import (
    Answer,
    AnswerCheck,
    AnswerPoll,
    AnswerQuestion,
    CloseQuestion,
    Command,
    EndSession,
    Join,
    LaunchQuestion,
    Leave,
    OpenCheck,
    OpenPoll,
    PromptSpec,
    QnaAsk,
    QnaHide,
    QnaMarkAnswered,
    StartSession,
)
from server.domain.live.event_types import DERIVED_EVENT_TYPES
from server.domain.live.roster import Roster
from server.domain.reports import Person, TimelineRow
from server.domain.roles import Actor, Role

TEACHER = Actor(1, Role.TEACHER)
FAC = Actor(2, Role.FACILITATOR, 10)
S11, S12, S15 = (Actor(u, Role.STUDENT, 10) for u in (11, 12, 15))
S13 = Actor(13, Role.STUDENT, 20)
S14 = Actor(14, Role.STUDENT, None)
STUDENTS = (S11, S12, S13, S14, S15)
PEOPLE = [Person(a.user_id, f"Student {a.user_id}", a.site_id) for a in STUDENTS]
SITES = {10: "North A", 20: "South B"}
SINGLE = PromptSpec("single", "Which is a vector?", ("mass", "velocity"), Answer(choices=(1,)))


@dataclass
class Lesson:
    live: LiveAggregate = field(
        default_factory=lambda: LiveAggregate(7, Roster([TEACHER, FAC, *STUDENTS]))
    )
    log: list[Event] = field(default_factory=list)

    def do(self, actor: Actor, command: Command, at: float) -> list[Event]:
        events = self.live.handle(actor, command, at)
        self.log += [e for e in events if e.type not in DERIVED_EVENT_TYPES]
        return events


def scripted() -> Lesson:
    """Started at 1010, ended at 1310; one catch-up answer at 2000."""
    s = Lesson()
    s.do(TEACHER, Join(), 1000)
    s.do(S11, Join(), 1000)  # in the lobby early: counts from the start
    s.do(TEACHER, StartSession(), 1010)
    s.do(S12, Join(), 1020)
    s.do(S13, Join(), 1030)
    s.do(S14, Join(), 1040)
    s.do(S12, Leave(), 1080)
    s.do(TEACHER, OpenPoll(SINGLE), 1100)
    s.do(S14, Leave(), 1100)
    s.do(S11, AnswerPoll(1, Answer(choices=(0,))), 1105)
    s.do(S11, AnswerPoll(1, Answer(choices=(1,))), 1110)  # changed: right, 10 s
    s.do(S13, AnswerPoll(1, Answer(choices=(0,))), 1120)
    anonymous = PromptSpec("single", "How was it?", ("good", "bad"))
    s.do(TEACHER, OpenPoll(anonymous, anonymous=True), 1130)
    s.do(S11, AnswerPoll(2, Answer(choices=(0,))), 1135)
    question = PromptSpec("numeric", "g in m/s^2?", correct=Answer(number=9.8), tolerance=0.1)
    s.do(TEACHER, LaunchQuestion(question), 1150)
    s.do(S11, AnswerQuestion(1, Answer(number=9.81)), 1160)
    s.do(S13, AnswerQuestion(1, Answer(number=10.0)), 1165)
    s.do(TEACHER, CloseQuestion(1), 1170)
    s.do(TEACHER, OpenCheck("Can you hear me?"), 1180)
    s.do(S13, AnswerCheck(1, True), 1185)
    s.do(S13, QnaAsk("Is =1+1 a formula?"), 1190)
    s.do(S11, QnaAsk("hide me"), 1191)
    s.do(TEACHER, QnaMarkAnswered(1), 1195)
    s.do(TEACHER, QnaHide(2), 1196)
    s.do(S12, Join(), 1200)
    s.do(TEACHER, EndSession(), 1310)
    s.do(S14, AnswerQuestion(1, Answer(number=9.8)), 2000)  # catch-up on the recording
    return s


TIMELINE = [
    TimelineRow(1120, "student", 10, 11, "confused", ("pressed I'm confused",)),
    TimelineRow(1112, "press", 10, 11, "pressed", ()),
    TimelineRow(1135, "press", 10, 11, "seen", ("by user 1",)),
    TimelineRow(1150, "student", 10, 11, "engaged", ()),
    TimelineRow(1250, "student", 20, 13, "disengaged", ("lesson tab hidden",)),
    TimelineRow(1260, "alert", 20, None, "disengaged", ("1 of 1 at South B disengaged",)),
    TimelineRow(1125, "alert", 10, None, "confused", ("1 of 3 at North A confused",)),
    TimelineRow(1130, "site", 10, None, "watch", ()),
]
