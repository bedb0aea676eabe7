"""A real class over real websockets: a teacher, 3 facilitators and 30 students at sites and
at home, against a running server."""

from __future__ import annotations

import asyncio

from sqlmodel import col, func, select

from server.db.models import SessionEvent
from tests.live_server import Frame, WsClient
from tests.realtime.conftest import Class

SINGLE = {
    "spec": {
        "kind": "single",
        "prompt": "Which is a vector?",
        "options": ["mass", "velocity"],
        "correct": {"choices": [1]},
    },
}


def _student_indexes() -> list[int]:
    # demo: students 0-7 site A, 8-15 site B, 16-23 site C, 24-31 site D, 32-39 at home
    return [*range(0, 8), *range(8, 16), *range(16, 22), *range(32, 40)]


def _latest_tallies(client: WsClient, poll_id: int) -> dict[object, Frame]:
    latest: dict[object, Frame] = {}
    for frame in client.frames:
        if frame.get("type") == "poll.tally" and frame["data"]["poll_id"] == poll_id:
            latest[frame["data"]["site_id"]] = frame
    return latest


async def _until_answered(client: WsClient, poll_id: int, total: int) -> dict[object, Frame]:
    async with asyncio.timeout(20):
        while True:
            latest = _latest_tallies(client, poll_id)
            if sum(f["data"]["answered"] for f in latest.values()) >= total:
                return latest
            await client.recv()


async def test_thirty_students_three_sites_and_home(klass: Class) -> None:
    teacher = await klass.teacher()
    facs = [await klass.facilitator(i) for i in range(3)]
    indexes = _student_indexes()
    students = [await klass.student(i) for i in indexes]
    opened = await teacher.ok("poll.open", SINGLE)
    for s in students:
        frame = await s.wait_for(lambda f: f.get("type") == "poll.opened")
        assert frame["seq"] == opened["seq"]
    poll_id = frame["data"]["poll_id"]

    async def answer(i: int, s: WsClient) -> Frame:
        return await s.ok("poll.answer", {"poll_id": poll_id, "answer": {"choices": [i % 2]}})

    acks = await asyncio.gather(*(answer(i, s) for i, s in enumerate(students)))
    seqs = [a["seq"] for a in acks]
    assert len(set(seqs)) == 30 and all(isinstance(q, int) for q in seqs)

    latest = await _until_answered(teacher, poll_id, 30)
    sites = [klass.demo.sites[i].id for i in range(3)]
    by_site = {k: f["data"] for k, f in latest.items()}
    assert by_site[sites[0]]["answered"] == 8 and by_site[sites[1]]["answered"] == 8
    assert by_site[sites[2]]["answered"] == 6
    assert by_site[None]["answered"] == 8  # at home
    assert sum(d["correct"] for d in by_site.values()) == 15
    # a facilitator sees its own site's results only
    fac_latest = await _until_answered(facs[0], poll_id, 8)
    assert set(fac_latest) == {sites[0]}
    assert all(f["data"]["site_id"] == sites[0] for f in facs[0].events("poll.tally"))
    # no student ever receives another student's answer or the answer key
    for s, i in zip(students, indexes, strict=True):
        me = klass.demo.students[i].id
        answered = s.events("poll.answered")
        assert [f["data"]["user_id"] for f in answered] == [me]
        assert s.events("poll.key") == [] and s.events("poll.tally") == []

    # close and reveal: everyone gets the totals
    await teacher.ok("poll.close", {"poll_id": poll_id})
    await teacher.ok("poll.reveal", {"poll_id": poll_id})
    for s in students:
        await s.wait_for(lambda f: f.get("type") == "poll.revealed")
    late = await students[0].call("poll.answer", {"poll_id": poll_id, "answer": {"choices": [0]}})
    assert late["type"] == "error" and late["code"] == "invalid_state"

    # the log holds each answer once
    async with klass.server.app.state.services.sessions() as db:
        stored = (
            await db.exec(
                select(func.count())
                .select_from(SessionEvent)
                .where(col(SessionEvent.type) == "poll.answered")
            )
        ).one()
    assert stored == 30


async def test_changed_answer_replaces_and_is_counted_once(klass: Class) -> None:
    teacher = await klass.teacher()
    student = await klass.student(0)
    await teacher.ok("poll.open", SINGLE)
    poll_id = (await student.wait_for(lambda f: f.get("type") == "poll.opened"))["data"]["poll_id"]
    await student.ok("poll.answer", {"poll_id": poll_id, "answer": {"choices": [0]}})
    await student.ok("poll.answer", {"poll_id": poll_id, "answer": {"choices": [1]}})
    rejoined = await klass.student(0)
    poll = rejoined.welcome["snapshot"]["polls"][0]
    assert poll["mine"] == 1
    t2 = await klass.teacher()
    results = t2.welcome["snapshot"]["polls"][0]["results"]
    assert results["total"]["answered"] == 1


async def test_idempotent_resend_is_stored_once(klass: Class) -> None:
    teacher = await klass.teacher()
    student = await klass.student(3)
    await teacher.ok("poll.open", SINGLE)
    poll_id = (await student.wait_for(lambda f: f.get("type") == "poll.opened"))["data"]["poll_id"]
    first = await student.call(
        "poll.answer", {"poll_id": poll_id, "answer": {"choices": [1]}}, "answer-1"
    )
    again = await student.call(
        "poll.answer", {"poll_id": poll_id, "answer": {"choices": [0]}}, "answer-1"
    )
    assert first["type"] == "ack"
    assert again["type"] == "error" and again["code"] == "conflict"  # same id, other answer
    # a second connection of the same student resending the same id: still once
    other = await klass.student(3)
    third = await other.call(
        "poll.answer", {"poll_id": poll_id, "answer": {"choices": [1]}}, "answer-1"
    )
    assert third["seq"] == first["seq"]
    async with klass.server.app.state.services.sessions() as db:
        rows = list(
            await db.exec(select(SessionEvent).where(col(SessionEvent.type) == "poll.answered"))
        )
    assert len(rows) == 1 and rows[0].client_msg_id == "answer-1"
    assert rows[0].data["value"] == 1


async def test_drop_mid_poll_and_resume_misses_nothing(klass: Class) -> None:
    teacher = await klass.teacher()
    student = await klass.student(5)
    await teacher.ok("poll.open", SINGLE)
    poll_id = (await student.wait_for(lambda f: f.get("type") == "poll.opened"))["data"]["poll_id"]
    seen = student.last_seq
    await student.close()  # the rural link drops
    await teacher.ok("qna.ask", {"text": "Anyone lost?"})
    await teacher.ok("poll.close", {"poll_id": poll_id})
    await teacher.ok("poll.open", {"spec": {"kind": "numeric", "prompt": "g in m/s^2?"}})
    await teacher.ok("poll.reveal", {"poll_id": poll_id})
    back = await klass.student(5, last_seq=seen)
    want = ["qna.asked", "poll.closed", "poll.opened", "poll.revealed"]
    got: list[Frame] = []
    async with asyncio.timeout(10):
        while [f["type"] for f in got if f["type"] in want] != want:
            frame = await back.recv()
            if isinstance(frame.get("seq"), int):
                got.append(frame)
    seqs = [f["seq"] for f in got]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) and seqs[0] > seen
    snapshot = back.welcome["snapshot"]
    assert [p["status"] for p in snapshot["polls"]] == ["revealed", "open"]
    # and live events keep flowing after the replay
    await teacher.ok("hand.clear")
    ok = await back.ok("hand.raise")
    raised = await back.wait_for(lambda f: f.get("type") == "hand.raised")
    assert raised["seq"] == ok["seq"]


async def test_server_restart_mid_session_loses_nothing(klass: Class) -> None:
    teacher = await klass.teacher()
    student = await klass.student(9)
    await teacher.ok("poll.open", SINGLE)
    poll_id = (await student.wait_for(lambda f: f.get("type") == "poll.opened"))["data"]["poll_id"]
    ack = await student.call("poll.answer", {"poll_id": poll_id, "answer": {"choices": [1]}}, "a-1")
    assert ack["type"] == "ack"
    await student.ok("qna.ask", {"text": "Is friction a force?"})
    seen = student.last_seq
    await klass.restart()  # every runtime is rebuilt from the log
    assert klass.server.app.state.realtime.loaded() == []
    back = await klass.student(9, last_seq=seen)
    polls = back.welcome["snapshot"]["polls"]
    assert polls[0]["status"] == "open" and polls[0]["mine"] == 1
    assert [q["text"] for q in back.welcome["snapshot"]["qna"]] == ["Is friction a force?"]
    again = await back.call("poll.answer", {"poll_id": poll_id, "answer": {"choices": [1]}}, "a-1")
    assert again["seq"] == ack["seq"]  # idempotency survives the restart
    teacher2 = await klass.teacher()
    assert teacher2.welcome["snapshot"]["polls"][0]["results"]["total"]["answered"] == 1
    closing = await teacher2.ok("poll.close", {"poll_id": poll_id})
    closed = await back.wait_for(lambda f: f.get("type") == "poll.closed")
    assert closed["seq"] == closing["seq"] > again["seq"]
