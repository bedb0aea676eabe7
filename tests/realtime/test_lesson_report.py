"""A scripted lesson over real websockets, ended, then its report read over HTTP: the report's
numbers must be the ones the live session showed the teacher (tallies, comings and goings)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import httpx

from server.domain.roles import Role
from tests.live_server import WsClient
from tests.realtime.conftest import Class

POLL = {
    "spec": {
        "kind": "single",
        "prompt": "Which is a vector?",
        "options": ["mass", "velocity"],
        "correct": {"choices": [1]},
    },
}
QUESTION = {"spec": {"kind": "numeric", "prompt": "g in m/s^2?", "correct": {"number": 9.8}}}
# demo: students 0-7 site A, 8-15 site B, 32-39 at home
INDEXES = (0, 1, 2, 8, 9, 32, 33)


def _latest(client: WsClient, type_: str, key: str, item_id: int) -> dict[Any, dict[str, Any]]:
    latest: dict[Any, dict[str, Any]] = {}
    for frame in client.frames:
        if frame.get("type") == type_ and frame["data"][key] == item_id:
            latest[frame["data"]["site_id"]] = frame["data"]
    return latest


async def _until(
    client: WsClient, type_: str, key: str, item_id: int, total: int, correct: int
) -> dict[Any, Any]:
    """The latest per-site tallies once they add up to ``total`` answers, ``correct`` right
    (tallies are coalesced: an earlier one may already count everyone but not a changed
    answer)."""
    async with asyncio.timeout(20):
        while True:
            latest = _latest(client, type_, key, item_id)
            answered = sum(d["answered"] for d in latest.values())
            if (answered, sum(d["correct"] for d in latest.values())) == (total, correct):
                return latest
            await client.recv()


def _by_site(activity: dict[str, Any], site_of: dict[int, Any]) -> dict[Any, tuple[int, int]]:
    out: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for row in activity["answers"]:
        counts = out[site_of[row["user_id"]]]
        counts[0] += 1
        counts[1] += 1 if row["correct"] else 0
    return {site: (a, c) for site, (a, c) in out.items()}


def _seen_attendance(teacher: WsClient, started: float, ended: float) -> dict[int, float]:
    """Seconds present per student, from the presence frames the teacher received."""
    since: dict[int, float] = {}
    seconds: dict[int, float] = defaultdict(float)
    for frame in teacher.frames:
        data = frame.get("data", {})
        if frame.get("type") == "presence.joined" and data.get("role") == "student":
            since[data["user_id"]] = max(frame["at"], started)
        elif frame.get("type") == "presence.left" and data["user_id"] in since:
            seconds[data["user_id"]] += frame["at"] - since.pop(data["user_id"])
    for user_id, at in since.items():
        seconds[user_id] += ended - at
    return dict(seconds)


async def test_report_agrees_with_the_live_lesson(klass: Class) -> None:
    # leaving waits out the presence grace (10 s by default), longer than a frame wait
    klass.settings.presence_grace_seconds = 1.0
    demo = klass.demo
    teacher = await klass.teacher()
    students = [await klass.student(i) for i in INDEXES]
    ids = [demo.students[i].id or 0 for i in INDEXES]
    site_of = {ids[n]: (demo.sites[0].id, demo.sites[1].id, None)[i // 8 if i < 32 else 2]
               for n, i in enumerate(INDEXES)}  # fmt: skip

    opened = await teacher.ok("poll.open", POLL)
    poll_id = (await students[0].wait_for(lambda f: f.get("seq") == opened["seq"]))["data"][
        "poll_id"
    ]
    for n, s in enumerate(students):
        await s.ok("poll.answer", {"poll_id": poll_id, "answer": {"choices": [n % 2]}})
    await students[0].ok("poll.answer", {"poll_id": poll_id, "answer": {"choices": [1]}})  # changed
    # right: the odd ones, and student 0 after changing their answer
    poll_seen = await _until(teacher, "poll.tally", "poll_id", poll_id, len(students), 4)

    await teacher.ok("question.launch", QUESTION)
    shown = await students[0].wait_for(lambda f: f.get("type") == "question.shown")
    question_id = shown["data"]["question_id"]
    for n, s in enumerate(students[:4]):
        await s.ok("question.answer", {"question_id": question_id, "answer": {"number": 9.8 + n}})
    question_seen = await _until(teacher, "question.tally", "question_id", question_id, 4, 1)

    await students[4].close()  # one student leaves before the end
    await teacher.wait_for(
        lambda f: f.get("type") == "presence.left" and f["data"]["user_id"] == ids[4]
    )
    await teacher.ok("session.end")
    ended = await teacher.wait_for(lambda f: f.get("type") == "session.ended")
    started = teacher.welcome["snapshot"]["started_at"]

    token = klass.token(demo.teacher.id or 0, Role.TEACHER)
    async with httpx.AsyncClient(base_url=klass.server.base) as http:
        resp = await http.get(
            f"/api/sessions/{klass.session_id}/report",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert resp.status_code == 200, resp.text
    report = resp.json()
    activities = {a["key"]: a for a in report["activities"]}

    poll = activities[f"poll-{poll_id}"]
    assert _by_site(poll, site_of) == {
        site: (d["answered"], d["correct"]) for site, d in poll_seen.items()
    }
    assert poll["totals"]["answered"] == sum(d["answered"] for d in poll_seen.values()) == 7
    assert next(a for a in poll["answers"] if a["user_id"] == ids[0])["changes"] == 1
    question = activities[f"question-{question_id}"]
    assert _by_site(question, site_of) == {
        site: (d["answered"], d["correct"]) for site, d in question_seen.items()
    }
    assert question["at_s"] == shown["data"]["clock"]
    assert all(a["seconds"] is not None and not a["catch_up"] for a in question["answers"])

    seen = _seen_attendance(teacher, started, ended["at"])
    rows = {r["user_id"]: r for r in report["attendance"]}
    for user_id in ids:
        assert abs(rows[user_id]["seconds"] - seen[user_id]) < 0.1, user_id
        assert rows[user_id]["joins"] == 1
    assert not rows[ids[4]]["connected_at_end"] and rows[ids[0]]["connected_at_end"]
    assert report["session"]["seconds"] == round(ended["at"] - started, 1)
    never = [r for r in report["attendance"] if r["user_id"] not in ids]
    assert never and all(r["joins"] == 0 and r["seconds"] == 0 for r in never)
