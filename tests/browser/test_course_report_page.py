"""The course view page after a lesson: the teacher goes from the lesson report to the course
view, reads each student's cell for the lesson, filters the students falling behind and
downloads the CSV; a facilitator sees only their site's students."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from playwright.async_api import expect

from server.domain.roles import Role
from tests.browser.conftest import WebClass, shot
from tests.live_server import WsClient

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

POLL = {
    "spec": {
        "kind": "single",
        "prompt": "Which is a vector?",
        "options": ["mass", "velocity"],
        "correct": {"choices": [1]},
    },
}


async def _ws(web: WebClass, user_id: int, role: Role) -> WsClient:
    signer = web.server.app.state.services.signer
    token = signer.issue(user_id=user_id, role=role, typ="access", now=time.time(), ttl_seconds=600)
    return await WsClient.open(web.server.ws_url(web.session_id), str(token))


async def test_course_view_from_the_lesson_report(web: WebClass) -> None:
    demo = web.demo
    teacher = await web.teacher()
    facilitator = await web.facilitator()  # site A's, signed in while the lesson is listed
    lead = await _ws(web, demo.teacher.id or 0, Role.TEACHER)
    picks = {0: 1, 8: 0}  # site A right, site B wrong
    students = {i: await _ws(web, demo.students[i].id or 0, Role.STUDENT) for i in picks}
    opened = await lead.ok("poll.open", POLL)
    for i, s in students.items():
        frame = await s.wait_for(lambda f: f.get("seq") == opened["seq"])
        await s.ok(
            "poll.answer", {"poll_id": frame["data"]["poll_id"], "answer": {"choices": [picks[i]]}}
        )
    teacher.on("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="End session").click()
    for client in (lead, *students.values()):
        await client.close()
    await teacher.locator("#report-link").click()
    await teacher.wait_for_url(f"**/report/{web.session_id}")
    page = teacher

    await page.get_by_role("link", name="Course view: all lessons").click()
    await page.wait_for_url(f"**/course-report/{demo.course.id}")
    course = page.get_by_role("table", name="Each student, lesson by lesson")
    await expect(course.locator("tbody tr")).to_have_count(len(demo.students))
    lesson_link = course.locator(f'thead a[href="/report/{web.session_id}"]')
    await expect(lesson_link).to_have_count(1)
    headers = await course.locator("thead th").all_inner_texts()
    column = next(i for i, t in enumerate(headers) if demo.session.title in t)
    ada = course.get_by_role("row", name=demo.students[0].display_name)
    cell = ada.locator("th, td").nth(column)
    await expect(cell).to_contain_text("1 of 1 answered")
    await expect(cell).to_contain_text("1 of 1 correct")
    wrong = course.get_by_role("row", name=demo.students[8].display_name)
    await expect(wrong.locator("th, td").nth(column)).to_contain_text("0 of 1 correct")
    await expect(page.locator("#rule")).to_contain_text("Falling behind: over the last 3 lessons")
    await shot(page, "course-report", full_page=True)

    await page.get_by_label("Only students falling behind").check()
    await expect(page.locator("#students")).to_contain_text(re.compile("falling behind|Nobody"))
    for row in await page.locator("#students tbody tr").all():
        await expect(row.locator("td").last).to_contain_text("Yes")

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download CSV").click()
    download = await download_info.value
    assert download.suggested_filename == f"course-{demo.course.id}-report.csv"
    rows = list(csv.DictReader(io.StringIO((await download.path()).read_text(encoding="utf-8"))))
    mine = [r for r in rows if r["student_id"] == str(demo.students[0].id)]
    assert any(r["session_id"] == str(web.session_id) and r["correct"] == "1" for r in mine)

    await facilitator.goto(f"{web.base}/course-report/{demo.course.id}")
    site = facilitator.get_by_role("table", name="Each student, lesson by lesson")
    await expect(site.locator("tbody tr")).to_have_count(8)
    await expect(site.get_by_role("row", name=demo.students[8].display_name)).to_have_count(0)
