"""The "before the lesson" pages: an admin sets up a school (with its time zone), a site with
its facilitator, a course and its students from an imported roster (a bad roster first: every
row reported with its line and reason, nothing imported); a teacher schedules a lesson in their
school's time, starts it, sees it in their list and hands out its join links."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect
from sqlmodel import func, select

from server.db.models import Enrolment, User
from server.demo import DEMO_PASSWORD
from tests.browser.conftest import WebClass, shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

HEADER = "sourcedId,role,givenName,familyName,email,orgSourcedIds,classSourcedIds\n"
BAD_ROSTER = HEADER + (
    "k-1,student,Kai,Lund,kai@lake.example,lake-1,CHEM-1\n"  # line 2: fine
    "k-2,wizard,Lea,Moss,lea@lake.example,lake-1,CHEM-1\n"  # 3: no such role
    "k-3,student,Max,Nye,not-an-email,lake-1,CHEM-1\n"  # 4: bad address
    "k-4,student,Noa,Orr,noa@lake.example,nowhere,CHEM-1\n"  # 5: unknown site
)
GOOD_ROSTER = HEADER + (
    "k-1,student,Kai,Lund,kai@lake.example,lake-1,CHEM-1\n"
    "k-2,student,Lea,Moss,lea@lake.example,lake-1,CHEM-1\n"
    "k-3,student,Max,Nye,max@lake.example,,CHEM-1\n"  # at home
)


async def sign_in(web: WebClass, email: str, link: str) -> Page:
    page = await web.page()
    await page.goto(web.base + "/")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name=link).click()
    return page


async def _counts(web: WebClass) -> tuple[int, int]:
    async with web.server.app.state.services.sessions() as db:
        users = (await db.exec(select(func.count()).select_from(User))).one()
        enrolments = (await db.exec(select(func.count()).select_from(Enrolment))).one()
    return int(users), int(enrolments)


async def _upload(page: Page, text: str, button: str) -> None:
    field = page.get_by_label("users.csv")
    await field.set_input_files(
        files=[{"name": "users.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    form = page.locator("form", has=field)  # the OneRoster card has buttons of its own
    await form.get_by_role("button", name=button, exact=True).click()


async def test_admin_sets_up_a_school_site_course_and_roster(web: WebClass) -> None:
    page = await sign_in(web, "admin@demo.hyflex", "Administration")
    await page.wait_for_url("**/admin")
    schools = page.get_by_role("table", name="Schools")
    await expect(schools.get_by_role("row", name="Hillcrest School")).to_contain_text(
        "America/Denver"
    )

    # a school: a bad time zone is refused, next to the field, in plain words
    form = page.locator("#school-form")
    await form.get_by_label("Name").fill("Lakeside College")
    await form.get_by_label("Code", exact=True).fill("lake")
    await form.get_by_label("Time zone").fill("Mars/Olympus")
    await form.get_by_role("button", name="Add school").click()
    problem = form.locator("#school-zone-error")
    await expect(problem).to_have_attribute("role", "alert")
    await expect(problem).to_contain_text("'Mars/Olympus' is not a time zone name")
    await expect(form.get_by_label("Time zone")).to_be_focused()
    await form.get_by_label("Time zone").fill("Europe/Berlin")
    await form.get_by_role("button", name="Add school").click()
    await expect(schools.get_by_role("row", name="Lakeside College")).to_contain_text(
        "Europe/Berlin"
    )
    await expect(problem).to_have_count(0)

    # a site, then its facilitator
    form = page.locator("#site-form")
    await form.get_by_label("School").select_option(label="Lakeside College (Europe/Berlin)")
    await form.get_by_label("Name").fill("Lakeside - Lab 1")
    await form.get_by_label("Code").fill("lab one!")  # the API's pattern, in plain words
    await form.get_by_role("button", name="Add site").click()
    await expect(form.locator("#site-code-error")).to_have_text(
        "Code may hold only letters, digits, dots, dashes and underscores (at most 64)."
    )
    await form.get_by_label("Code").fill("lake-1")
    await form.get_by_role("button", name="Add site").click()
    sites = page.get_by_role("table", name="Sites and their facilitators")
    await expect(sites.get_by_role("row", name="Lakeside - Lab 1")).to_contain_text("none yet")
    form = page.locator("#user-form")
    await form.get_by_label("Name").fill("Fay Lakeside")
    await form.get_by_label("E-mail").fill("fay@lake.example")
    await form.get_by_label("Role").select_option("facilitator")
    await form.get_by_label("Home site").select_option(label="Lakeside - Lab 1")
    await form.get_by_label("Password").fill("short")
    await form.get_by_role("button", name="Add member of staff").click()  # the browser stops it
    await expect(form.get_by_label("Password")).to_have_js_property("validity.valid", False)
    await form.get_by_label("Password").fill("lakeside-lab-2026")
    await form.get_by_role("button", name="Add member of staff").click()
    await expect(sites.get_by_role("row", name="Lakeside - Lab 1")).to_contain_text("Fay Lakeside")

    # a course offered at the new site, taught by the demo teacher
    form = page.locator("#course-form")
    await form.get_by_label("Code").fill("CHEM-1")
    await form.get_by_label("Title").fill("Chemistry")
    await form.get_by_label("Teacher").select_option(label="Dr Maya Okafor")
    await form.get_by_label("Lakeside - Lab 1").check()
    await form.get_by_role("button", name="Add course").click()
    courses = page.get_by_role("table", name="Courses")
    await expect(courses.get_by_role("row", name="Chemistry")).to_contain_text("Lakeside - Lab 1")

    # a roster with bad rows: each with its line and reason; nothing imported
    before = await _counts(web)
    await _upload(page, BAD_ROSTER, "Check the file")
    errors = page.get_by_role("table", name="Rows with problems")
    await expect(errors.locator("tbody tr")).to_have_count(3)
    await expect(errors.get_by_role("row", name="3")).to_contain_text("unknown role")
    await expect(errors.get_by_role("row", name="4")).to_contain_text("not a valid address")
    await expect(errors.get_by_role("row", name="5")).to_contain_text("unknown site code")
    await expect(page.locator("#roster-result [role=alert]")).to_contain_text(
        "nothing was imported"
    )
    await expect(page.locator("#roster-import")).to_be_disabled()
    await page.locator("#roster-h").scroll_into_view_if_needed()
    await shot(page, "admin-roster-errors")
    assert await _counts(web) == before

    # the good roster: a check, then the import
    await _upload(page, GOOD_ROSTER, "Check the file")
    await expect(page.locator("#roster-result")).to_contain_text("All 3 rows are good")
    assert await _counts(web) == before
    await page.locator("#roster-import").click()
    await expect(page.locator("#roster-result")).to_contain_text("Imported 3 rows: 3 people added")
    assert await _counts(web) == (before[0] + 3, before[1] + 3)

    await page.locator("#enrol-course").select_option(label="Chemistry (CHEM-1)")
    students = page.get_by_role("table", name="Students of Chemistry")
    await expect(students.locator("tbody tr")).to_have_count(3)
    await expect(students.get_by_role("row", name="Max Nye")).to_contain_text("Remote (at home)")
    await expect(students.get_by_role("row", name="Kai Lund")).to_contain_text("Lakeside - Lab 1")


async def test_teacher_schedules_starts_and_hands_out_links(web: WebClass) -> None:
    page = await sign_in(web, "teacher@demo.hyflex", "Courses and lessons")
    await page.wait_for_url("**/courses")
    card = page.locator('[data-course="PHYS-ADV"]')
    await expect(card).to_contain_text("Times in America/Chicago, America/Denver")
    await card.get_by_text("Schedule a lesson").click()
    form = card.get_by_role("form", name="Schedule a lesson of Advanced Physics")
    await form.get_by_role("button", name="Schedule lesson").click()  # no title: the browser asks
    await expect(form.get_by_label("Lesson title")).to_have_js_property("validity.valid", False)
    await form.get_by_label("Lesson title").fill("Waves and sound")
    await form.get_by_label("Starts at").fill("2026-12-03T09:30")
    await expect(form.get_by_label("Time zone of that time")).to_have_value("America/Chicago")
    await form.get_by_role("button", name="Schedule lesson").click()

    lessons = card.get_by_role("table", name="Lessons of Advanced Physics")
    row = lessons.get_by_role("row", name="Waves and sound")
    await expect(row).to_contain_text("scheduled")
    # 09:30 in Chicago is 08:30 in Denver, each labelled with its zone
    await expect(row).to_contain_text("3 Dec 2026, 09:30 (America/Chicago)")
    await expect(row).to_contain_text("3 Dec 2026, 08:30 (America/Denver)")
    await row.get_by_role("button", name="Start Waves and sound").click()
    row = card.get_by_role("table", name="Lessons of Advanced Physics").get_by_role(
        "row", name="Waves and sound"
    )
    await expect(row.locator(".chip")).to_have_text("live")
    console = row.get_by_role("link", name="Open the console of Waves and sound")
    href = await console.get_attribute("href")
    assert href is not None and href.startswith("/teacher/")

    await row.get_by_role("button", name="Join links of Waves and sound").click()
    links = card.get_by_role("table", name="Join links for Waves and sound")
    await expect(links.locator("tbody tr")).to_have_count(len(web.demo.students))
    first = web.demo.students[0].display_name
    link = links.get_by_role("textbox", name=f"Join link for {first}")
    await expect(link).to_have_value(re.compile(r"^https?://[^/\s]+/join#\S+$"))
    await expect(links.get_by_role("button", name=f"Copy the link for {first}")).to_be_visible()
    roster = card.get_by_role("table", name="Northfield High - Room A: 8 students")
    await expect(roster.locator("tbody tr")).to_have_count(8)
    await card.get_by_role("heading", name="Lessons").scroll_into_view_if_needed()
    await shot(page, "admin-teacher-courses")

    # ending a lesson (after a confirmation) leads to its report
    page.on("dialog", lambda dialog: dialog.accept())
    demo_row = lessons.get_by_role("row", name="Forces and motion (demo)")
    await demo_row.get_by_role("button", name="End Forces and motion (demo)").click()
    report = lessons.get_by_role("link", name="Report of Forces and motion (demo)")
    await expect(report).to_have_attribute("href", f"/report/{web.session_id}")
    await expect(demo_row.locator(".chip")).to_have_text("ended")

    # the new lesson is in the teacher's list at /, live, with its console
    await page.get_by_role("link", name="Home").click()
    entry = page.locator(".session-row", has_text="Waves and sound")
    await expect(entry).to_contain_text("live")
    await expect(entry.get_by_role("link", name="Open console")).to_have_attribute("href", href)
