"""The teacher builds a question bank, attaches a question to the lesson with a time on the
lesson clock, prints a site's join-link sheet (whose QR code decodes to the student's link),
and finds the question under "From the bank" in the live console's launcher."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import expect

from tests.browser.conftest import WebClass, shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

PROMPT = "Which force keeps the Moon in orbit?"


async def test_teacher_builds_the_bank_prints_links_and_launches(web: WebClass) -> None:
    page = await web.teacher()
    course_id = web.demo.course.id
    session_id = web.session_id
    await page.goto(f"{web.base}/courses/{course_id}/bank?lesson={session_id}")
    await expect(page.locator("#bank-status")).to_contain_text("empty")

    # a mistake is refused in plain words, by the live session's own rules
    await page.get_by_label("Embedded question").check()
    await page.get_by_label("Prompt").fill(PROMPT)
    await page.get_by_label("Options, one per line").fill("Gravity")
    await page.get_by_role("button", name="Add to the bank").click()
    error = page.locator("#form-error")
    await expect(error).to_have_attribute("role", "alert")
    await expect(error).to_contain_text("give between 2 and 10 options")

    await page.get_by_label("Options, one per line").fill("Gravity\nFriction\nMagnetism")
    await page.get_by_label("Answer key (optional)").fill("1")
    await page.get_by_role("button", name="Add to the bank").click()
    item = page.locator(".bank-item", has_text=PROMPT)
    await expect(item).to_contain_text("Key: 1")
    await expect(error).to_be_hidden()

    await item.get_by_label(f"Show “{PROMPT}” at (mm:ss of the lesson)").fill("1:30")
    await item.get_by_role("button", name=f"Attach “{PROMPT}” to the lesson").click()
    await expect(page.locator("#attached")).to_contain_text("1:30")
    await expect(page.locator("#attached")).to_contain_text(PROMPT)
    await shot(page, "question-bank", full_page=True)

    # the site's printable sheet
    await page.get_by_role("link", name="Join links and QR codes").click()
    await page.wait_for_url(f"**/sessions/{session_id}/links")
    site = web.demo.sites[0]
    await page.get_by_label("Site").select_option(str(site.id))
    cards = page.locator(".link-card")
    await expect(cards).to_have_count(8)
    await expect(page.locator(".link-sheet h2")).to_have_text(
        f"{site.name}: {web.demo.session.title}"
    )
    first = cards.first
    url = await first.locator(".link-url").inner_text()
    assert "/join#" in url
    png = await first.locator("img.link-qr").screenshot()
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))]
    assert decoded == [url]
    await page.emulate_media(media="print")
    await expect(page.locator(".topbar")).to_be_hidden()
    await shot(page, "join-links-sheet", full_page=True)
    await page.emulate_media(media="screen")

    # the live console offers the attached question; "Use" fills the launcher
    await page.goto(f"{web.base}/teacher/{session_id}")
    await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
    picker = page.locator("#bank-pick")
    await picker.locator("summary").click()
    await picker.get_by_role("button", name=f"Use “{PROMPT}”").click()
    await expect(page.get_by_label("Prompt")).to_have_value(PROMPT)
    await expect(page.locator("#l-position")).to_have_value("1:30")
    await expect(page.locator("#l-key")).to_have_value("1")
    await expect(page.locator("#l-go")).to_have_text("Prepare question")
    await expect(page.locator("#l-go")).to_be_focused()
    await page.locator("#l-go").click()
    await expect(page.locator("#prepared")).to_contain_text(PROMPT)
    await expect(page.locator("#prepared")).to_contain_text("1:30")


async def test_a_facilitator_prints_only_their_sites_sheet(web: WebClass) -> None:
    page = await web.facilitator()  # site A's
    await page.get_by_role("link", name="Join links").click()
    await page.wait_for_url(f"**/sessions/{web.session_id}/links")
    await expect(page.locator(".link-sheet")).to_have_count(1)
    site = web.demo.sites[0]
    await expect(page.locator(".link-sheet h2")).to_contain_text(site.name)
    await expect(page.locator(".link-card")).to_have_count(8)
    await expect(page.get_by_label("Site")).to_be_disabled()
    await expect(page.get_by_role("button", name="Print")).to_be_enabled()
