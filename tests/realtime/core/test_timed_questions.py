"""A question prepared for a lesson-clock position appears to students when the lesson clock
reaches it, with nobody showing it (the session's ticker does), over real websockets."""

from __future__ import annotations

from tests.realtime.conftest import Class

SPEC = {"kind": "single", "prompt": "Pick one", "options": ["a", "b"], "correct": {"choices": [0]}}


async def test_a_timed_question_is_shown_when_its_position_comes(klass: Class) -> None:
    teacher = await klass.teacher()
    student = await klass.student(0)
    clock = float(teacher.welcome["lesson_clock"])
    position = clock + 1.5
    await teacher.ok("question.prepare", {"spec": SPEC, "position": position})
    prepared = await teacher.wait_for(lambda f: f.get("type") == "question.prepared")
    qid = prepared["data"]["question_id"]
    assert not student.events("question.shown")

    shown = await student.wait_for(
        lambda f: f.get("type") == "question.shown" and f["data"]["question_id"] == qid
    )
    assert shown["data"]["clock"] >= position
    answer = {"question_id": qid, "answer": {"choices": [0]}}
    await student.ok("question.answer", answer)  # it is open: a live answer
    reply = await teacher.call("question.show", {"question_id": qid})
    assert reply["type"] == "error" and reply["code"] == "invalid_state", reply
