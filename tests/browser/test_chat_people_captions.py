"""Chat, the participant list, recording consent and captions in the real pages (Chromium):
chat to everyone, to a site and privately, with moderation; the teacher's participant list
actions (ask to mute, remove: the student's link refused until let back in); the consent
notice when recording starts; captions typed by a captioner appear and the WebVTT downloads."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import WebClass

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 20_000


def chat_items(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#chat .chat-item .chat-text")


async def say(page: Page, text: str, to: str | None = None) -> None:
    if to is not None:
        await page.locator("#chat-to").select_option(to)
    await page.locator("#chat-text").fill(text)
    await page.locator("#chat-text").press("Enter")
    await expect(page.locator("#chat-text")).to_have_value("")


async def test_chat_to_everyone_a_site_and_privately_with_moderation(web: WebClass) -> None:
    teacher = await web.teacher()
    fac_a = await web.facilitator("north-a")
    ada = await web.student(0)  # site A
    ben = await web.student(1)  # site A
    cy = await web.student(8)  # site B
    await say(ada, "<b>hello</b> everyone")
    for page in (teacher, fac_a, ben, cy):
        await expect(chat_items(page).last).to_have_text("<b>hello</b> everyone", timeout=WAIT_MS)
    assert await ben.locator("#chat .chat-text b").count() == 0  # shown as text, never markup
    await say(ada, "room A only", "site")
    await say(cy, "teacher, I am lost", "teacher")
    await expect(chat_items(teacher)).to_have_text(
        ["<b>hello</b> everyone", "room A only", "teacher, I am lost"], timeout=WAIT_MS
    )
    await expect(chat_items(ben)).to_have_text(["<b>hello</b> everyone", "room A only"])
    await expect(chat_items(fac_a)).to_have_text(["<b>hello</b> everyone", "room A only"])
    await expect(chat_items(cy)).to_have_text(["<b>hello</b> everyone", "teacher, I am lost"])
    await expect(chat_items(ada)).to_have_text(["<b>hello</b> everyone", "room A only"])
    # a facilitator deletes a message from their site: gone for its audience
    await (
        fac_a.locator("#chat .chat-item", has_text="room A only")
        .get_by_role("button", name="Delete message")
        .click()
    )
    await expect(chat_items(ben)).to_have_text(["<b>hello</b> everyone"], timeout=WAIT_MS)
    # the teacher mutes Cy's chat, then turns chat off for everyone
    await teacher.locator(f'#chat [data-mute="{web.demo.students[8].id}"]').first.click()
    await expect(cy.locator("#chat-note")).to_have_text("Your chat is muted.", timeout=WAIT_MS)
    await expect(cy.locator("#chat-text")).to_be_disabled()
    await teacher.locator("#chat-toggle").click()
    await expect(ada.locator("#chat-note")).to_have_text("The teacher has turned chat off.")
    await say(fac_a, "staff may still speak")
    await expect(chat_items(ada).last).to_have_text("staff may still speak", timeout=WAIT_MS)
    # a reload brings the recent chat back from the snapshot
    await ben.reload()
    await expect(chat_items(ben)).to_have_text(
        ["<b>hello</b> everyone", "staff may still speak"], timeout=WAIT_MS
    )


async def test_participant_list_actions_and_a_removed_students_link(web: WebClass) -> None:
    teacher = await web.teacher()
    teacher.on("dialog", lambda dialog: dialog.accept())
    ada_id = web.demo.students[0].id
    ada = await web.student(0)
    row = teacher.locator(f'#people .people-row[data-user="{ada_id}"]')
    await expect(row.locator(".chip").first).to_have_text("present", timeout=WAIT_MS)
    fac_a = await web.facilitator("north-a")
    await expect(fac_a.locator(f'#people .people-row[data-user="{ada_id}"]')).to_be_visible()
    assert await fac_a.locator("#people .people-row button").count() == 0  # the teacher acts
    await ada.locator("#hand").click()
    await expect(row).to_contain_text("hand up", timeout=WAIT_MS)
    await row.get_by_role("button", name="Ask").click()
    await expect(ada.locator("body")).to_have_attribute("data-asked-to-mute", "1")
    await row.get_by_role("button", name="Remove").click()
    await expect(ada.locator("#banner")).to_contain_text("removed you from this lesson")
    await expect(ada.locator("#conn")).to_have_attribute("data-status", "removed")
    await expect(row).to_contain_text("removed", timeout=WAIT_MS)
    # the same link opened again is refused with a clear message
    token = (await web.join_tokens())[ada_id or 0]
    again = await web.page()
    await again.goto(f"{web.base}/join#{token}")
    await expect(again.locator("#banner")).to_contain_text("removed you from this lesson")
    await row.get_by_role("button", name="Let back in").click()
    await expect(row).not_to_contain_text("removed", timeout=WAIT_MS)
    back = await web.student(0)
    await expect(back.locator("#conn")).to_have_attribute("data-status", "live")


async def test_recording_notice_and_indicator_everywhere(web: WebClass) -> None:
    teacher = await web.teacher()
    fac_a = await web.facilitator("north-a")
    ada = await web.student(0)
    await expect(ada.locator("#rec")).to_be_hidden()
    await teacher.locator("#rec-toggle").click()
    for page in (teacher, fac_a, ada):
        await expect(page.locator("#rec")).to_be_visible(timeout=WAIT_MS)
    notice = ada.locator("#rec-notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("This lesson is now being recorded")
    await notice.get_by_role("button", name="I understand").click()
    await expect(notice).to_be_hidden()
    late = await web.student(1)  # joins a lesson being recorded: the notice too
    await expect(late.locator("#rec-notice")).to_be_visible()
    teacher.on("dialog", lambda dialog: dialog.accept())  # "Stop recording?"
    await teacher.locator("#rec-toggle").click()
    for page in (teacher, fac_a, ada, late):
        await expect(page.locator("#rec")).to_be_hidden(timeout=WAIT_MS)


async def test_captions_typed_by_a_captioner_appear_and_the_webvtt_downloads(
    web: WebClass,
) -> None:
    teacher = await web.teacher()
    ada_id = web.demo.students[0].id
    ada = await web.student(0)
    cy = await web.student(8)
    row = teacher.locator(f'#people .people-row[data-user="{ada_id}"]')
    await row.get_by_role("button", name="Make captioner").click()
    await expect(ada.locator("#caption-text")).to_be_visible(timeout=WAIT_MS)
    await cy.locator("#captions-on").check()
    await ada.locator("#caption-text").fill("Newton's first law <i>")
    await ada.locator("#caption-text").press("Enter")
    await expect(cy.locator("#caption-lines .caption-line").last).to_have_text(
        "Newton's first law <i>", timeout=WAIT_MS
    )
    await expect(row).to_contain_text("captioner")
    async with teacher.expect_download() as info:
        await teacher.locator("#captions-vtt").click()
    download = await info.value
    path = await download.path()
    body = path.read_text()
    assert body.startswith("WEBVTT") and "Newton's first law &lt;i&gt;" in body
    assert download.suggested_filename == f"lesson-{web.session_id}-captions.vtt"
