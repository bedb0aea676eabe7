"""LTI Advantage services against the test LMS (tests/lti/platform.py, standing in for Canvas
or Moodle): Deep Linking verified by the LMS, grades (AGS) once per student after a lesson and
after catch-up answers, through an outage and a restart, and the roster (NRPS)."""

from __future__ import annotations

import re
from collections import Counter

import httpx
import pytest
from sqlmodel import col, select

from server.db.lti_models import LtiGrade, LtiUserLink
from server.db.models import Enrolment
from server.domain.roles import Role
from tests.lti.conftest import TEACHER, Lms, learner
from tests.lti.platform import PendingLaunch, Person, read_form

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
QUESTION = {"kind": "numeric", "prompt": "g in m/s^2?", "correct": {"number": 9.8}}


async def test_deep_linking_places_a_lesson_and_the_roster_syncs(lms: Lms) -> None:
    launched = await lms.launch(PendingLaunch(TEACHER, message_type="LtiDeepLinkingRequest"))
    assert launched.status == 200, launched.page
    offered = re.findall(r'name="lesson_id" value="(\d+)"', launched.page)
    assert str(lms.session_id) in offered
    picker = re.search(r'name="picker" value="([^"]+)"', launched.page)
    assert picker is not None
    async with httpx.AsyncClient(base_url=lms.tool) as browser:
        picked = await browser.post(
            "/lti/deep-link", data={"picker": picker.group(1), "lesson_id": str(lms.session_id)}
        )
    assert picked.status_code == 200
    assert lms.platform.base in picked.headers["content-security-policy"]  # form-action
    action, fields = read_form(picked.text)
    assert action == f"{lms.platform.base}/deep-link-return"
    async with httpx.AsyncClient() as browser:
        placed = await browser.post(action, data=fields)
    assert placed.status_code == 200, placed.text  # the LMS verified the signed response
    [item] = lms.platform.deep_links
    assert item["type"] == "ltiResourceLink"
    assert item["url"] == f"{lms.tool}/lti/launch"
    assert item["custom"]["hyflex_lesson"] == str(lms.session_id)
    async with httpx.AsyncClient() as anyone:
        jwks = (await anyone.get(f"{lms.tool}/lti/jwks")).json()
    [key] = jwks["keys"]
    assert key["kty"] == "RSA" and "d" not in key  # the public half only
    assert item["lineItem"]["resourceId"] == f"lesson-{lms.session_id}"

    # the placed link opens the lesson for a learner
    lms.platform.custom["rl-placed"] = item["custom"]
    joined = await lms.join(await lms.launch(PendingLaunch(learner(1), resource_link="rl-placed")))
    assert joined["session_id"] == lms.session_id
    # a learner may not place lessons
    refused = await lms.launch(PendingLaunch(learner(1), message_type="LtiDeepLinkingRequest"))
    assert refused.status == 400 and "only an instructor" in refused.page

    # roster: the LMS course's members, in two pages
    lms.platform.members = [
        TEACHER,
        *(learner(n) for n in (1, 7, 8, 9)),
        Person("lms-mentor", "Mentor", "mentor@lms.example", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]),
    ]  # fmt: skip
    teacher = lms.staff_token(lms.demo.teacher.id or 0, Role.TEACHER)
    contexts = (await lms.api("GET", "/api/lti/contexts", teacher)).json()
    [context] = contexts
    assert context["course_id"] == lms.demo.course.id and context["roster_service"]
    synced = await lms.api("POST", f"/api/lti/contexts/{context['id']}/sync", teacher)
    assert synced.status_code == 200, synced.text
    assert synced.json() == {
        "members": 6, "students": 4, "teachers": 1, "enrolled": 3, "skipped": 1
    }  # fmt: skip
    again = await lms.api("POST", f"/api/lti/contexts/{context['id']}/sync", teacher)
    assert again.json()["enrolled"] == 0  # a second sync adds nobody twice
    async with lms.app.state.services.sessions() as db:
        links = {link.sub: link.user_id for link in await db.exec(select(LtiUserLink))}
        assert links["lms-teacher"] == lms.demo.teacher.id
        enrolled = set(
            await db.exec(
                select(col(Enrolment.student_id)).where(
                    col(Enrolment.course_id) == lms.demo.course.id
                )
            )
        )
    assert {links[f"lms-learner-{n}"] for n in (1, 7, 8, 9)} <= enrolled
    assert "lms-mentor" not in links


async def _question(lms: Lms, teacher_ws: object, students: list[object]) -> int:
    await teacher_ws.ok("question.launch", {"spec": QUESTION})  # type: ignore[attr-defined]
    shown = await students[0].wait_for(lambda f: f.get("type") == "question.shown")  # type: ignore[attr-defined]
    return int(shown["data"]["question_id"])


def _posts(lms: Lms, lineitem: str = "rl-1") -> Counter[str]:
    return Counter(p.user_id for p in lms.platform.accepted if p.lineitem == lineitem)


async def test_scores_arrive_once_per_student_through_an_outage_and_after_catch_up(
    lms: Lms,
) -> None:
    lms.place("rl-1")
    people = [learner(n) for n in (1, 2, 3)]
    tokens = [(await lms.join(await lms.launch(PendingLaunch(p))))["access_token"] for p in people]
    # a second link to the lesson, placed where the LMS made no gradebook column for it: the
    # tool makes one (once) through the line items service
    lms.place("rl-nav")
    await lms.join(
        await lms.launch(PendingLaunch(people[0], resource_link="rl-nav", lineitem=False))
    )
    teacher = await lms.ws(lms.staff_token(lms.demo.teacher.id or 0, Role.TEACHER))
    students = [await lms.ws(t) for t in tokens]
    q1 = await _question(lms, teacher, students)
    q2 = await _question(lms, teacher, students)
    right, wrong = {"number": 9.8}, {"number": 3.0}
    await students[0].ok("question.answer", {"question_id": q1, "answer": right})
    await students[0].ok("question.answer", {"question_id": q2, "answer": right})
    await students[1].ok("question.answer", {"question_id": q1, "answer": right})
    await students[1].ok("question.answer", {"question_id": q2, "answer": wrong})
    # learner 3 answers nothing live

    lms.platform.outage = 2  # the LMS is down for the first two score posts
    await teacher.ok("session.end")
    grades = lms.app.state.lti.grades
    await grades.idle()
    assert lms.platform.outage_answers == 2
    assert _posts(lms) == {p.sub: 1 for p in people}
    scores = {(p.user_id, p.score_given, p.score_maximum) for p in lms.platform.accepted}
    assert scores == {("lms-learner-1", 2, 2), ("lms-learner-2", 1, 2), ("lms-learner-3", 0, 2)}
    assert {p.lineitem for p in lms.platform.accepted} == {"rl-1", "made-1"}
    [made] = lms.platform.lineitems.values()
    assert made["resourceLinkId"] == "rl-nav" and made["resourceId"] == f"lesson-{lms.session_id}"
    assert _posts(lms, "made-1") == {p.sub: 1 for p in people}

    # learner 3 catches up: one new score for them, none for the others
    catch_up = await lms.ws(tokens[2])
    await catch_up.ok("question.answer", {"question_id": q1, "answer": right})
    await grades.idle()
    assert _posts(lms) == {"lms-learner-1": 1, "lms-learner-2": 1, "lms-learner-3": 2}
    latest = lms.platform.results[("rl-1", "lms-learner-3")]
    assert (latest.score_given, latest.score_maximum) == (1, 2)
    first = next(p for p in lms.platform.accepted if p.user_id == "lms-learner-3")
    assert latest.timestamp > first.timestamp  # AGS keeps the newest by timestamp

    await grades.kick(lms.session_id)  # recomputing changes nothing: nothing is sent again
    await grades.idle()
    assert len(lms.platform.accepted) == 8  # 4 to each column
    assert len(lms.platform.lineitems) == 1

    # a long outage: the tries give up, the score waits in the outbox, a restart sends it
    lms.platform.outage = 1000
    await catch_up.ok("question.answer", {"question_id": q2, "answer": right})
    await grades.idle()
    assert len(lms.platform.accepted) == 8
    async with lms.app.state.services.sessions() as db:
        pending = list(
            await db.exec(
                select(LtiGrade).where(col(LtiGrade.version) > col(LtiGrade.sent_version))
            )
        )
    assert [(g.score_given, g.version, g.sent_version) for g in pending] == [(2.0, 3, 2)] * 2
    assert any(g.last_error is not None and "503" in g.last_error for g in pending)
    lms.platform.outage = 0
    await grades.start()  # what the app does when it starts again
    await grades.idle()
    assert _posts(lms) == {"lms-learner-1": 1, "lms-learner-2": 1, "lms-learner-3": 3}
    latest = lms.platform.results[("rl-1", "lms-learner-3")]
    assert (latest.score_given, latest.score_maximum) == (2, 2)
    # the demo course's other 40 students never came from the LMS: no score for them
    assert set(_posts(lms)) == {p.sub for p in people}

    # a learner who first opens the link after the lesson gets their column filled
    late = await lms.join(await lms.launch(PendingLaunch(learner(4))))
    assert late["session_status"] == "ended"  # the catch-up player
    await grades.idle()
    assert _posts(lms)["lms-learner-4"] == 1
    latest = lms.platform.results[("rl-1", "lms-learner-4")]
    assert (latest.score_given, latest.score_maximum) == (0, 2)
