"""Every activity of a lesson (polls, embedded questions, yes/no checks) with each student's
final answer, its correctness, seconds to answer and whether it came live or in catch-up,
folded from the ``poll.*``, ``question.*`` and ``check.*`` events of the log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from server.domain.events import Event
from server.domain.live.answers import Spec, is_correct, value_from_data
from server.domain.reports.clock import LessonWindow

ActivityKind = Literal["poll", "question", "check"]


@dataclass(slots=True)
class StudentAnswer:
    user_id: int
    site_id: int | None
    value: Any
    """As logged: an option index, a list of them, a number, a text, or true/false (checks)."""
    shown: str
    correct: bool | None
    seconds: float | None
    """From the activity's opening to the (final) answer, to a tenth of a second (page and CSV
    alike); None for catch-up answers."""
    catch_up: bool = False
    changes: int = 0
    """How many times the student changed their answer (polls and checks allow it)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "site_id": self.site_id,
            "value": self.value,
            "answer": self.shown,
            "correct": self.correct,
            "seconds": self.seconds,
            "catch_up": self.catch_up,
            "changes": self.changes,
        }


@dataclass(slots=True)
class Activity:
    kind: ActivityKind
    activity_id: int
    prompt: str
    answer_kind: str
    options: tuple[str, ...]
    opened_at: float
    at_s: float | None
    anonymous: bool = False
    revealed: bool = False
    spec: Spec | None = None
    answers: dict[int, StudentAnswer] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.activity_id}"

    def show(self, value: Any) -> str:
        """The answer in words: option texts, a number, a text, yes or no."""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if self.options and isinstance(value, int):
            return self.options[value] if 0 <= value < len(self.options) else str(value)
        if self.options and isinstance(value, list):
            return "; ".join(self.show(v) for v in value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)


def _spec_of(data: dict[str, Any]) -> Spec:
    public = dict(data)
    public.setdefault("correct", None)
    return Spec.from_data(public)


def _poll(book: dict[str, Activity], event: Event, window: LessonWindow) -> None:
    data = event.data
    if event.type == "poll.opened":
        spec = _spec_of(data["spec"])
        book[f"poll-{data['poll_id']}"] = Activity(
            "poll",
            data["poll_id"],
            spec.prompt,
            spec.kind.value,
            spec.options,
            event.at,
            window.clock(event.at),
            anonymous=bool(data.get("anonymous")),
            spec=spec,
        )
        return
    act = book.get(f"poll-{data.get('poll_id')}")
    if act is None or act.spec is None:
        return
    if event.type == "poll.key":
        act.spec = replace(act.spec, correct=value_from_data(act.spec.kind, data["correct"]))
        for answer in act.answers.values():
            parsed = value_from_data(act.spec.kind, answer.value)
            answer.correct = None if parsed is None else is_correct(act.spec, parsed)
    elif event.type == "poll.revealed":
        act.revealed = True
    elif event.type == "poll.answered":
        parsed = value_from_data(act.spec.kind, data["value"])
        before = act.answers.get(data["user_id"])
        act.answers[data["user_id"]] = StudentAnswer(
            data["user_id"],
            data["site_id"],
            data["value"],
            act.show(data["value"]),
            None if parsed is None else is_correct(act.spec, parsed),
            round(max(0.0, event.at - act.opened_at), 1),
            changes=0 if before is None else before.changes + 1,
        )


def _question(book: dict[str, Activity], event: Event, window: LessonWindow) -> None:
    data = event.data
    key = f"question-{data.get('question_id')}"
    if event.type == "question.prepared":
        spec = Spec.from_data(data["spec"])
        book[key] = Activity(
            "question",
            data["question_id"],
            spec.prompt,
            spec.kind.value,
            spec.options,
            0.0,
            None,
            spec=spec,
        )
        return
    act = book.get(key)
    if act is None:
        return
    if event.type == "question.shown":
        act.opened_at = event.at
        act.at_s = data["clock"]
    elif event.type == "question.answered":
        latency = data.get("latency")
        act.answers[data["user_id"]] = StudentAnswer(
            data["user_id"],
            data["site_id"],
            data["value"],
            act.show(data["value"]),
            data["correct"],
            None if latency is None else round(float(latency), 3),
            catch_up=bool(data["catch_up"]),
        )


def _check(book: dict[str, Activity], event: Event, window: LessonWindow) -> None:
    data = event.data
    key = f"check-{data.get('check_id')}"
    if event.type == "check.opened":
        book[key] = Activity(
            "check",
            data["check_id"],
            data["prompt"],
            "yes_no",
            (),
            event.at,
            window.clock(event.at),
        )
        return
    act = book.get(key)
    if act is not None and event.type == "check.answered":
        before = act.answers.get(data["user_id"])
        act.answers[data["user_id"]] = StudentAnswer(
            data["user_id"],
            data["site_id"],
            data["yes"],
            act.show(data["yes"]),
            None,
            round(max(0.0, event.at - act.opened_at), 1),
            changes=0 if before is None else before.changes + 1,
        )


_FOLDS = {"poll": _poll, "question": _question, "check": _check}


def activities(events: Sequence[Event], window: LessonWindow) -> list[Activity]:
    """Activities in lesson order (questions never shown are left out)."""
    book: dict[str, Activity] = {}
    for event in events:
        fold = _FOLDS.get(event.type.split(".", 1)[0])
        if fold is not None:
            fold(book, event, window)
    shown = [a for a in book.values() if a.at_s is not None or a.kind != "question"]
    return sorted(shown, key=lambda a: (a.opened_at, a.kind, a.activity_id))
