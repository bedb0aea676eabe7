"""xAPI statements projected from a lesson's log: ids derived from session and seq, one
"answered" per final poll answer judged with the last key, attendance clipped to the live
lesson, accounts rather than e-mails."""

from __future__ import annotations

from server.domain.events import Event
from server.domain.xapi import Identity, lesson_statements, statement_id

WHO = Identity("https://hyflex.example.org", 3, "Physics", 7, "Vectors")
SPEC = {
    "kind": "single",
    "prompt": "Pick",
    "options": ["a", "b"],
    "correct": None,
    "min_value": None,
    "max_value": None,
    "tolerance": 0,
    "max_length": 200,
}


def _log() -> list[tuple[int, Event]]:
    events = [
        Event("presence.joined", {"user_id": 11, "site_id": 1, "role": "student"}, at=900),
        Event("presence.joined", {"user_id": 2, "site_id": None, "role": "teacher"}, at=950),
        Event("session.started", {}, at=1000),
        Event("presence.joined", {"user_id": 12, "site_id": 1, "role": "student"}, at=1010),
        Event("poll.opened", {"poll_id": 1, "spec": SPEC}, at=1020),
        Event("poll.answered", {"poll_id": 1, "user_id": 11, "site_id": 1, "value": 1}, at=1030),
        Event("poll.answered", {"poll_id": 1, "user_id": 11, "site_id": 1, "value": 0}, at=1035),
        Event("poll.key", {"poll_id": 1, "correct": 0}, at=1040),
        Event("presence.left", {"user_id": 12}, at=1070),
        Event("qna.asked", {"qna_id": 4, "user_id": 12, "site_id": 1, "text": "why?"}, at=1060),
        Event("session.ended", {}, at=1100),
        Event("presence.left", {"user_id": 11}, at=1110),
    ]
    return list(enumerate(events, 1))


def test_statements_ids_and_shapes() -> None:
    out = lesson_statements(WHO, _log())
    verbs = [(s.seq, s.body["verb"]["id"].rsplit("/", 1)[1]) for s in out]
    assert verbs == [(7, "answered"), (9, "attended"), (10, "asked"), (11, "attended")]
    answered, left, asked, at_end = (s.body for s in out)
    assert answered["id"] == statement_id(WHO.base_url, 7, 7)  # the final answer's seq
    assert answered["result"] == {"response": "0", "success": True}  # judged with the key
    assert answered["object"]["id"] == "https://hyflex.example.org/xapi/lessons/7/poll/1"
    assert answered["actor"] == {
        "objectType": "Agent",
        "account": {"homePage": "https://hyflex.example.org", "name": "11"},
    }
    assert left["result"] == {"duration": "PT60.00S", "completion": False}
    assert asked["result"] == {"response": "why?"}
    # still connected at the end: from the start (not the lobby at 900) to the end, per student
    assert at_end["id"] == statement_id(WHO.base_url, 7, 11, 11)
    assert at_end["result"] == {"duration": "PT100.00S", "completion": True}
    parents = answered["context"]["contextActivities"]
    assert parents["grouping"][0]["id"] == "https://hyflex.example.org/xapi/courses/3"
    assert parents["parent"][0]["id"] == "https://hyflex.example.org/xapi/lessons/7"


def test_the_same_log_gives_the_same_ids_and_emails_only_when_given() -> None:
    first = [s.id for s in lesson_statements(WHO, _log())]
    assert first == [s.id for s in lesson_statements(WHO, _log())]
    assert len(set(first)) == len(first)
    with_mail = lesson_statements(WHO, _log(), {11: "ada@school.example"})
    assert with_mail[0].body["actor"] == {
        "objectType": "Agent",
        "mbox": "mailto:ada@school.example",
    }
    assert "mbox" not in with_mail[1].body["actor"]  # no address known for 12
