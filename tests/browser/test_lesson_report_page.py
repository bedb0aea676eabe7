"""The lesson report page after a short lesson: the teacher ends it, follows "Lesson report",
reads the tables (attendance, answers, an episode linked into the recording) and downloads
the CSV."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from playwright.async_api import expect
from sqlmodel import col, func, select

from server.db.engagement_models import EngagementTimeline
from server.domain.roles import Role
from server.realtime.engagement.bridge import EXTENSION, EngagementBridge
from tests.browser.conftest import WebClass, shot
from tests.live_server import WsClient

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 20_000
POLL = {
    "spec": {
        "kind": "single",
        "prompt": "=Which is a vector?",
        "options": ["mass", "velocity"],
        "correct": {"choices": [1]},
    },
}


async def _ws(web: WebClass, user_id: int, role: Role) -> WsClient:
    signer = web.server.app.state.services.signer
    token = signer.issue(user_id=user_id, role=role, typ="access", now=time.time(), ttl_seconds=600)
    return await WsClient.open(web.server.ws_url(web.session_id), str(token))


async def _store_timeline(web: WebClass) -> None:
    """Write the engagement timeline's waiting entries now (it is written in batches)."""
    runtime = await web.server.app.state.realtime.runtime(web.session_id)
    bridge = runtime.extensions.get(EXTENSION, EngagementBridge)
    assert bridge is not None
    await bridge.flush_timeline()
    async with web.server.app.state.services.sessions() as db:
        query = select(func.count()).select_from(EngagementTimeline)
        pressed = query.where(
            col(EngagementTimeline.scope) == "press", col(EngagementTimeline.value) == "pressed"
        )
        stored = (await db.exec(pressed)).one()
    assert stored >= 1


async def test_teacher_reads_the_report_after_the_lesson(web: WebClass) -> None:
    demo = web.demo
    teacher = await web.teacher()
    await teacher.locator("#rec-toggle").click()  # nothing is recorded until the teacher asks
    await expect(teacher.locator("#rec")).to_be_visible(timeout=WAIT_MS)  # recording
    await expect(teacher.locator("#report-link")).to_be_hidden()
    facilitator = await web.facilitator()  # site A's
    await expect(facilitator.locator("#report-link")).to_be_hidden()
    lead = await _ws(web, demo.teacher.id or 0, Role.TEACHER)
    picks = {0: 1, 8: 0, 32: 1}  # site A right, site B wrong, at home right
    students = {i: await _ws(web, demo.students[i].id or 0, Role.STUDENT) for i in picks}
    opened = await lead.ok("poll.open", POLL)
    for i, s in students.items():
        frame = await s.wait_for(lambda f: f.get("seq") == opened["seq"])
        poll_id = frame["data"]["poll_id"]
        await s.ok("poll.answer", {"poll_id": poll_id, "answer": {"choices": [picks[i]]}})
    await students[0].ok("engagement.confused", {"active": True})
    # the teacher sees the press (the engine has taken it), then the timeline is written
    await expect(teacher.locator(".confused-list")).to_contain_text(demo.students[0].display_name)
    await _store_timeline(web)

    teacher.on("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="End session").click()
    link = teacher.locator("#report-link")
    await expect(link).to_be_visible()
    await expect(link).to_have_attribute("href", f"/report/{web.session_id}")
    for client in (lead, *students.values()):
        await client.close()
    site_link = facilitator.locator("#report-link")
    await expect(site_link).to_be_visible()
    await expect(site_link).to_have_attribute("href", f"/report/{web.session_id}")
    await site_link.click()
    site_poll = facilitator.locator("table", has=facilitator.locator("caption", has_text="vector"))
    await expect(site_poll.locator("tbody tr")).to_have_count(1)  # site A's answer only
    await expect(facilitator.get_by_role("table", name="Attendance of students")
                 .locator("tbody tr")).to_have_count(8)  # fmt: skip
    await link.click()
    await teacher.wait_for_url(f"**/report/{web.session_id}")
    page = teacher

    attendance = page.get_by_role("table", name="Attendance of students")
    await expect(attendance).to_be_visible()
    await expect(attendance.locator("tbody tr")).to_have_count(len(demo.students))
    ada = attendance.get_by_role("row", name=demo.students[0].display_name)
    await expect(ada.locator("td").nth(3)).to_have_text("1")  # joined once
    poll = page.locator("table", has=page.locator("caption", has_text="Which is a vector?"))
    await expect(poll.locator("caption")).to_contain_text("3 answered, 2 correct")
    await expect(poll.locator("tbody tr")).to_have_count(3)
    row = poll.get_by_role("row", name=demo.students[8].display_name)
    await expect(row.locator("td").nth(1)).to_have_text("mass")
    await expect(row.locator("td").nth(2)).to_have_text("no")
    episodes = page.get_by_role("table", name="Confusion and disengagement episodes")
    await expect(episodes.locator("tbody tr")).to_have_count(1)
    await expect(episodes.locator("tbody tr td").nth(1)).to_have_text('Pressed "I\'m confused"')
    await shot(page, "lesson-report", full_page=True)

    # an episode's start is a link into the recording, reachable with the keyboard
    moment = episodes.get_by_role("link")
    href = await moment.get_attribute("href")
    assert href is not None and re.fullmatch(r"#t=\d+", href), href
    await moment.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#player")).to_be_visible()
    await expect(page.locator("#player")).to_have_attribute("data-seeked-to", href[3:])

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download CSV").click()
    download = await download_info.value
    assert download.suggested_filename == f"lesson-{web.session_id}-report.csv"
    text = (await download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(demo.students)  # one activity
    answered = {r["student_id"]: r["answer"] for r in rows if r["answer"]}
    assert answered == {
        str(demo.students[0].id): "velocity",
        str(demo.students[8].id): "mass",
        str(demo.students[32].id): "velocity",
    }
    assert all(r["prompt"] == "'=Which is a vector?" for r in rows)  # formula-safe
