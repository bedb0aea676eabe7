"""The lesson's state as people see it: the lesson's title on a student's page, the teacher's
"Recording" chip across a reload, and a student's page once the lesson has ended (media
notices gone, nothing left to press, a way to catch up)."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from tests.browser.conftest import PHONE, WebClass, shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 20_000


async def test_the_recording_chip_follows_the_recording_across_a_reload(web: WebClass) -> None:
    teacher = await web.teacher()
    chip = teacher.locator("#rec")
    await teacher.locator("#rec-toggle").click()  # nothing is recorded until the teacher asks
    await expect(chip).to_be_visible(timeout=WAIT_MS)
    await teacher.reload()
    await expect(teacher.locator("#conn")).to_have_attribute("data-status", "live")
    await expect(chip).to_be_visible(timeout=WAIT_MS)
    runtime = await web.server.app.state.realtime.runtime(web.session_id)
    bridge = runtime.extensions["media"]
    for _ in range(300):  # bounded: the file starts when the reloaded page publishes again
        if bridge.recording is not None:
            break
        await asyncio.sleep(0.05)  # polling the server's state, with the bound above
    assert bridge.recording is not None  # it really goes on


async def test_a_students_page_after_the_lesson_has_ended(web: WebClass) -> None:
    teacher = await web.teacher()
    await teacher.locator("#rec-toggle").click()  # nothing is recorded until the teacher asks
    await expect(teacher.locator("#rec")).to_be_visible(timeout=WAIT_MS)
    ada = await web.student(0, PHONE)
    await expect(ada.locator("#title")).to_have_text(web.demo.session.title)
    assert (await ada.title()).startswith(web.demo.session.title)
    await expect(ada.locator("#lesson-status")).to_have_text("live")
    # a weak link switched Ada to audio and slides during the lesson
    for _ in range(3):
        await ada.evaluate("(q) => window.__hyflex.player.feed(q)", "poor")
    await expect(ada.locator("#mode-note")).to_contain_text("Weak connection")
    await ada.locator("#confused").click()
    await expect(ada.locator("#confused")).to_have_attribute("aria-pressed", "true")

    teacher.on("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="End session").click()
    await expect(ada.locator("#lesson-status")).to_have_text("ended")
    ended = ada.locator("#catchup-note")
    await expect(ended).to_be_visible()
    await expect(ended.get_by_role("heading")).to_have_text("The lesson has ended")
    # no media notice is left over from the lesson
    await expect(ada.locator("#mode-note")).to_be_hidden()
    await expect(ada.locator("#media-notice")).to_be_hidden()
    await ada.evaluate("(q) => window.__hyflex.player.feed(q)", "poor")
    await expect(ada.locator("#mode-note")).to_have_text("")
    # nothing to press that the server would refuse: the forms to send are gone, what stays
    # in view is disabled
    for gone in (ada.locator("#qna-form"), ada.locator("#hand"), ada.locator("#reactions")):
        await expect(gone).to_be_hidden()
    for control in (
        ada.locator("#confused"),
        ada.locator("#qna-form button"),
        ada.locator("#qna-form textarea"),
        ada.locator("#reactions button").first,
    ):
        await expect(control).to_be_disabled()
    await expect(ada.locator("#confused")).to_have_attribute("aria-pressed", "false")
    await expect(ada.locator("#activity-empty")).to_contain_text("The lesson has ended")
    # the student's own answers and attendance are one link away
    await expect(ended.get_by_role("link", name="Your answers and attendance")).to_have_attribute(
        "href", f"/report/{web.session_id}"
    )
    # the recording of the lesson is offered, and reachable with the keyboard
    link = ended.get_by_role("link", name="Watch the recording")
    await expect(link).to_be_visible()
    await expect(link).to_have_attribute("href", f"/catchup/{web.session_id}")
    await ended.scroll_into_view_if_needed()
    await shot(ada, "student-phone-lesson-ended")
    for _ in range(10):
        if await link.evaluate("el => el === document.activeElement"):
            break
        await ada.keyboard.press("Tab")
    else:
        raise AssertionError("the catch-up link cannot be reached with Tab")
    await ada.keyboard.press("Enter")
    await ada.wait_for_url(f"**/catchup/{web.session_id}")
