"""LTI 1.3 launches from the test LMS (tests/lti/platform.py, standing in for Canvas or
Moodle): students and teachers signed into the right course and lesson, and every kind of bad
launch refused with a clear page."""

from __future__ import annotations

import html
import time
from urllib.parse import urlencode

import httpx
import pytest
from joserfc.jwk import RSAKey
from sqlmodel import col, select

from server.db.lti_models import LtiUserLink
from server.db.models import Enrolment, User
from server.domain.roles import Role
from tests.lti.conftest import TEACHER, Launched, Lms, learner
from tests.lti.platform import CLIENT_ID, LTI, PendingLaunch, Person, read_form

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _place_lesson(lms: Lms) -> None:
    lms.place("rl-1")


async def test_a_learner_is_created_enrolled_and_joins_the_lesson(lms: Lms) -> None:
    await _place_lesson(lms)
    person = learner(1)
    joined = await lms.join(await lms.launch(PendingLaunch(person)))
    assert joined["session_id"] == lms.session_id
    assert joined["user"]["role"] == "student"
    assert joined["user"]["display_name"] == "Learner 1"
    async with lms.app.state.services.sessions() as db:
        link = (await db.exec(select(LtiUserLink).where(col(LtiUserLink.sub) == person.sub))).one()
        user = await db.get(User, link.user_id)
        assert user is not None and user.role is Role.STUDENT
        enrolled = await db.exec(
            select(Enrolment).where(
                col(Enrolment.student_id) == user.id,
                col(Enrolment.course_id) == lms.demo.course.id,
            )
        )
        assert enrolled.first() is not None
    again = await lms.join(await lms.launch(PendingLaunch(person)))  # linked, not created again
    assert again["user"]["id"] == user.id


async def test_an_instructor_opens_the_console_and_an_unplaced_link_nothing(lms: Lms) -> None:
    await _place_lesson(lms)
    launched = await lms.launch(PendingLaunch(TEACHER))
    assert launched.status == 303
    assert launched.location.startswith(f"/lti/enter?to=/teacher/{lms.session_id}#")
    me = await lms.api("GET", "/api/auth/me", launched.token)
    assert me.status_code == 200
    assert me.json()["id"] == lms.demo.teacher.id  # linked by e-mail to the course's teacher
    session = await lms.api("GET", f"/api/sessions/{lms.session_id}", launched.token)
    assert session.status_code == 200
    # a link the LMS has but nobody placed with the lesson picker opens nothing
    unplaced = await lms.launch(PendingLaunch(learner(2), resource_link="rl-unknown"))
    assert unplaced.status == 400
    assert "not connected to a lesson" in unplaced.page
    # nor one whose custom parameters an LMS user wrote by hand (no valid check)
    lms.platform.custom["rl-hand"] = {"hyflex_lesson": str(lms.session_id), "hyflex_check": "0"}
    forged = await lms.launch(PendingLaunch(learner(2), resource_link="rl-hand"))
    assert forged.status == 400
    assert "not connected to a lesson" in forged.page
    async with lms.app.state.services.sessions() as db:  # and made no account
        made = await db.exec(select(LtiUserLink).where(col(LtiUserLink.sub) == "lms-learner-2"))
        assert made.first() is None
    # an instructor who is not the course's teacher here gets no console
    other = Person("lms-teacher-2", "Other", "other@lms.example", TEACHER.roles)
    stranger = await lms.launch(PendingLaunch(other))
    assert stranger.status == 400
    assert "not this course's teacher" in html.unescape(stranger.page)


def _forger() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "platform-key-1"})


BAD = {
    "wrong issuer": (dict(patch={"iss": "https://evil.example"}), "not registered"),
    "wrong audience": (dict(patch={"aud": "another-tool"}), "meant for another tool"),
    "expired": (
        dict(patch={"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        "expired",
    ),
    "unknown deployment": (dict(patch={LTI + "deployment_id": "rogue"}), "deployment"),
    "no version": (dict(drop=(LTI + "version",)), "1.3.0"),
    "no roles": (dict(drop=(LTI + "roles",)), "no roles"),
    "no resource link": (dict(drop=(LTI + "resource_link",)), "resource link"),
    "no message type": (dict(drop=(LTI + "message_type",)), "message type"),
    "wrong nonce": (dict(patch={"nonce": "not-the-one"}), "nonce"),
    "forged signature": (dict(key=_forger()), "signature"),
}


async def _refused(lms: Lms, case: str, launched: Launched, words: str) -> list[str]:
    problems = []
    if launched.status != 400 or "This LMS link did not open" not in launched.page:
        problems.append(f"{case}: {launched.status} {launched.page[:200]}")
    elif words not in launched.page or "Traceback" in launched.page:
        problems.append(f"{case}: the page does not say {words!r}: {launched.page[:400]}")
    return problems


async def _browser_launch(
    lms: Lms, hint: str, sub: str
) -> tuple[str, dict[str, str], dict[str, str]]:
    """Login initiation and authorization by hand: the form to post and the state cookie."""
    async with httpx.AsyncClient() as browser:
        query = {"iss": lms.platform.issuer, "login_hint": sub, "lti_message_hint": hint,
                 "client_id": CLIENT_ID}  # fmt: skip
        started = await browser.get(f"{lms.tool}/lti/login?{urlencode(query)}")
        action, fields = read_form((await browser.get(started.headers["location"])).text)
        return action, fields, dict(browser.cookies)


async def test_bad_launches_are_refused_with_a_clear_page(lms: Lms) -> None:
    """Each bad launch gets a plain page that says what is wrong, and signs nobody in."""
    await _place_lesson(lms)
    problems: list[str] = []
    for case in sorted(BAD):
        kwargs, words = BAD[case]
        launched = await lms.launch(PendingLaunch(learner(3), **kwargs))  # type: ignore[arg-type]
        problems += await _refused(lms, case, launched, words)

    # a replay: the same id_token posted again, even with its state cookie kept
    lms.platform.launches["replay"] = PendingLaunch(learner(4))
    action, fields, cookies = await _browser_launch(lms, "replay", "lms-learner-4")
    async with httpx.AsyncClient(cookies=cookies) as browser:
        first = await browser.post(action, data=fields)
        assert first.status_code == 303
    async with httpx.AsyncClient(cookies=cookies) as browser:
        second = await browser.post(action, data=fields)
    problems += await _refused(lms, "replay", Launched(second.status_code, "", second.text),
                               "used already")  # fmt: skip

    # the id_token posted from a browser that did not start the login (no state cookie)
    lms.platform.launches["nocookie"] = PendingLaunch(learner(5))
    action, fields, _ = await _browser_launch(lms, "nocookie", "lms-learner-5")
    async with httpx.AsyncClient() as other_browser:
        resp = await other_browser.post(action, data=fields)
    problems += await _refused(lms, "no state cookie", Launched(resp.status_code, "", resp.text),
                               "state")  # fmt: skip

    # a login initiation from an LMS nobody registered
    async with httpx.AsyncClient() as browser:
        resp = await browser.get(
            f"{lms.tool}/lti/login", params={"iss": "https://nobody.example", "login_hint": "x"}
        )
    problems += await _refused(lms, "unregistered LMS", Launched(resp.status_code, "", resp.text),
                               "not registered")  # fmt: skip
    assert problems == []
    async with lms.app.state.services.sessions() as db:  # none of the refused was let in
        subs = set(await db.exec(select(col(LtiUserLink.sub))))
    assert subs == {"lms-learner-4"}
