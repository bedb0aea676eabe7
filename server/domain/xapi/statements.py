"""xAPI 1.0.3 statements from a lesson's event log: *answered* (polls, embedded questions,
yes/no checks), *attended* (each stint from joining to leaving, clipped to the live lesson) and
*asked* (Q&A). Each statement's id is derived from the session and the ``seq`` of the event it
comes from (and the student, where one event closes several stints), so building them again
gives the same ids and a Learning Record Store keeps each once.

Actors are accounts on this server (``homePage`` = its public URL, ``name`` = the user id);
an e-mail is used only when the caller passes one (a setting, see docs/privacy.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from server.domain.events import Event
from server.domain.live.answers import Spec, is_correct, value_from_data

NAMESPACE = uuid.UUID("6f1c3b52-8f0e-5d0a-9a51-2f3f8e0c7a11")
VERB = "http://adlnet.gov/expapi/verbs/"
ACTIVITY = "http://adlnet.gov/expapi/activities/"
INTERACTION = {
    "single": "choice",
    "multiple": "choice",
    "numeric": "numeric",
    "text": "fill-in",
    "yes_no": "true-false",
}


@dataclass(frozen=True, slots=True)
class Identity:
    """Where the statements point: this server's public URL, the course and the lesson."""

    base_url: str
    course_id: int
    course_title: str
    session_id: int
    title: str


@dataclass(frozen=True, slots=True)
class Statement:
    seq: int
    """The seq of the event the statement comes from (the send cursor moves by it)."""
    body: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.body["id"])


def statement_id(base_url: str, session_id: int, seq: int, user_id: int | None = None) -> str:
    """uuid5 of the server, session, event seq (and student): the same on every build."""
    tail = "" if user_id is None else f"/user/{user_id}"
    return str(uuid.uuid5(NAMESPACE, f"{base_url}/session/{session_id}/seq/{seq}{tail}"))


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _duration(seconds: float) -> str:
    return f"PT{max(0.0, seconds):.2f}S"


class _Builder:
    def __init__(self, who: Identity, emails: Mapping[int, str]) -> None:
        self.who = who
        self.emails = emails
        self.lesson_iri = f"{who.base_url}/xapi/lessons/{who.session_id}"
        self.contexts = {True: self._context(in_lesson=True), False: self._context(in_lesson=False)}

    def actor(self, user_id: int) -> dict[str, Any]:
        email = self.emails.get(user_id)
        if email is not None:
            return {"objectType": "Agent", "mbox": f"mailto:{email}"}
        return {
            "objectType": "Agent",
            "account": {"homePage": self.who.base_url, "name": str(user_id)},
        }

    def lesson(self) -> dict[str, Any]:
        return {
            "objectType": "Activity",
            "id": self.lesson_iri,
            "definition": {"type": f"{ACTIVITY}meeting", "name": {"en": self.who.title}},
        }

    def _context(self, *, in_lesson: bool) -> dict[str, Any]:
        course = {
            "objectType": "Activity",
            "id": f"{self.who.base_url}/xapi/courses/{self.who.course_id}",
            "definition": {"type": f"{ACTIVITY}course", "name": {"en": self.who.course_title}},
        }
        activities: dict[str, Any] = {"grouping": [course]}
        if in_lesson:
            activities["parent"] = [{"objectType": "Activity", "id": self.lesson_iri}]
        return {"platform": "HyFlex Live", "contextActivities": activities}

    def statement(
        self,
        seq: int,
        user_id: int,
        verb: str,
        obj: dict[str, Any],
        at: float,
        result: dict[str, Any],
        *,
        keyed_by_user: bool = False,
        in_lesson: bool = True,
    ) -> Statement:
        sid = statement_id(
            self.who.base_url, self.who.session_id, seq, user_id if keyed_by_user else None
        )
        return Statement(
            seq,
            {
                "id": sid,
                "actor": self.actor(user_id),
                "verb": {"id": f"{VERB}{verb}", "display": {"en-US": verb}},
                "object": obj,
                "result": result,
                "context": self.contexts[in_lesson],  # shared: statements are not changed
                "timestamp": _iso(at),
            },
        )

    def activity(self, kind: str, number: int, prompt: str, answer_kind: str) -> dict[str, Any]:
        return {
            "objectType": "Activity",
            "id": f"{self.lesson_iri}/{kind}/{number}",
            "definition": {
                "type": f"{ACTIVITY}cmi.interaction",
                "name": {"en": prompt},
                "interactionType": INTERACTION.get(answer_kind, "other"),
            },
        }


def _spec(data: dict[str, Any]) -> Spec:
    public = dict(data)
    public.setdefault("correct", None)
    return Spec.from_data(public)


def _response(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[,]".join(str(v) for v in value)
    return str(value)


def lesson_statements(
    who: Identity, events: Iterable[tuple[int, Event]], emails: Mapping[int, str] | None = None
) -> list[Statement]:
    """The statements of a lesson's log (``(seq, event)`` in seq order), by seq. A poll or check
    answer changed later counts once, as its final answer (keyed by that answer's seq); a poll's
    success is judged with the key the log ends with."""
    b = _Builder(who, emails or {})
    out: list[Statement] = []
    polls: dict[int, Spec] = {}
    poll_answers: dict[tuple[int, int], tuple[int, float, Any]] = {}
    questions: dict[int, Spec] = {}
    checks: dict[int, str] = {}
    check_answers: dict[tuple[int, int], tuple[int, float, bool]] = {}
    joined: dict[int, float] = {}
    started = ended = None
    for seq, event in events:
        data, kind = event.data, event.type
        if kind == "session.started" and started is None:
            started = event.at
        elif kind == "session.ended":
            ended = event.at
            for user_id, since in sorted(joined.items()):
                _add(out, _attended(b, seq, user_id, since, event.at, started, True))
            joined.clear()
        elif kind == "presence.joined" and data.get("role") == "student":
            joined[data["user_id"]] = event.at
        elif kind == "presence.left" and data.get("user_id") in joined:
            since = joined.pop(data["user_id"])
            if ended is None:
                _add(out, _attended(b, seq, data["user_id"], since, event.at, started, False))
        elif kind == "poll.opened":
            polls[data["poll_id"]] = _spec(data["spec"])
        elif kind == "poll.key" and data.get("poll_id") in polls:
            spec = polls[data["poll_id"]]
            polls[data["poll_id"]] = replace(
                spec, correct=value_from_data(spec.kind, data["correct"])
            )
        elif kind == "poll.answered" and data.get("poll_id") in polls:
            poll_answers[(data["poll_id"], data["user_id"])] = (seq, event.at, data["value"])
        elif kind == "question.prepared":
            questions[data["question_id"]] = Spec.from_data(data["spec"])
        elif kind == "question.answered" and data.get("question_id") in questions:
            spec = questions[data["question_id"]]
            result: dict[str, Any] = {"response": _response(data["value"])}
            if data.get("correct") is not None:
                result["success"] = bool(data["correct"])
            if data.get("catch_up"):
                result["extensions"] = {f"{who.base_url}/xapi/extensions/catch-up": True}
            obj = b.activity("question", data["question_id"], spec.prompt, spec.kind.value)
            out.append(b.statement(seq, data["user_id"], "answered", obj, event.at, result))
        elif kind == "check.opened":
            checks[data["check_id"]] = data["prompt"]
        elif kind == "check.answered" and data.get("check_id") in checks:
            check_answers[(data["check_id"], data["user_id"])] = (seq, event.at, data["yes"])
        elif kind == "qna.asked":
            obj = {
                "objectType": "Activity",
                "id": f"{b.lesson_iri}/qna/{data['qna_id']}",
                "definition": {"type": f"{ACTIVITY}question", "name": {"en": data["text"]}},
            }
            out.append(
                b.statement(
                    seq, data["user_id"], "asked", obj, event.at, {"response": data["text"]}
                )
            )
    for (poll_id, user_id), (seq, at, value) in poll_answers.items():
        spec = polls[poll_id]
        result = {"response": _response(value)}
        parsed = value_from_data(spec.kind, value)
        if spec.correct is not None and parsed is not None:
            result["success"] = is_correct(spec, parsed)
        obj = b.activity("poll", poll_id, spec.prompt, spec.kind.value)
        out.append(b.statement(seq, user_id, "answered", obj, at, result))
    for (check_id, user_id), (seq, at, yes) in check_answers.items():
        obj = b.activity("check", check_id, checks[check_id], "yes_no")
        out.append(b.statement(seq, user_id, "answered", obj, at, {"response": _response(yes)}))
    return sorted(out, key=lambda s: (s.seq, s.id))


def _attended(
    b: _Builder,
    seq: int,
    user_id: int,
    since: float,
    until: float,
    started: float | None,
    at_end: bool,
) -> Statement | None:
    """One stint, clipped to the live lesson (the lobby before the start earns nothing)."""
    if started is None or until <= max(since, started):
        return None
    start = max(since, started)
    result = {"duration": _duration(until - start), "completion": at_end}
    return b.statement(
        seq, user_id, "attended", b.lesson(), until, result, keyed_by_user=at_end, in_lesson=False
    )


def _add(out: list[Statement], statement: Statement | None) -> None:
    if statement is not None:
        out.append(statement)
