"""Slides in real browsers: the teacher uploads a PDF and changes page; a student in audio +
slides sees each page (the small image, fetched once) and receives no video; a late joiner and
the facilitator show the current page; the catch-up player turns the pages with the recording."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from server.demo import DEMO_PASSWORD
from server.services import slides
from tests.api.slide_pdfs import deck_pdf, encrypted_pdf
from tests.browser.conftest import WebClass, shot, wait_more_frames

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 30_000
DATA_SAVER = "localStorage.setItem('hyflex.dataSaver', '1')"
RECEIVED = """async () => {
  const out = {audio: 0, video: 0};
  const peer = window.__hyflex.media.monitor.getPeer();
  if (!peer) return out;
  (await peer.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp') out[s.kind] += s.bytesReceived ?? 0;
  });
  return out;
}"""


async def student_in_data_saver(web: WebClass, index: int) -> Page:
    """A student whose data saver was on before the page opened (audio + slides from the
    first subscription)."""
    student_id = web.demo.students[index].id
    assert student_id is not None
    token = (await web.join_tokens())[student_id]
    page = await web.page(init_script=DATA_SAVER)
    await page.goto(f"{web.base}/join#{token}")
    await page.wait_for_url(f"**/student/{web.session_id}")
    await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
    return page


async def shows(page: Page, slide: int, size: str) -> None:
    panel = page.locator("#slide-panel")
    await expect(panel).to_have_attribute("data-page", str(slide), timeout=WAIT_MS)
    await expect(panel).to_have_attribute("data-size", size)
    await expect(panel).to_have_attribute("data-loaded", "1", timeout=WAIT_MS)
    await expect(panel.locator("img")).to_be_visible()


async def test_teacher_presents_and_students_follow(web: WebClass) -> None:
    teacher = await web.teacher()
    ben = await student_in_data_saver(web, 32)

    # a file that is not acceptable is refused in words
    await teacher.set_input_files(
        "#slides-file",
        {"name": "locked.pdf", "mimeType": "application/pdf", "buffer": encrypted_pdf()},
    )
    await teacher.get_by_role("button", name="Upload", exact=True).click()
    await expect(teacher.locator("#slides-status")).to_contain_text("protected by a password")

    await teacher.set_input_files(
        "#slides-file", {"name": "Forces.pdf", "mimeType": "application/pdf", "buffer": deck_pdf(4)}
    )
    await teacher.get_by_role("button", name="Upload", exact=True).click()
    await expect(teacher.locator("#slides-status")).to_contain_text(
        '"Forces" is ready: 4 pages', timeout=WAIT_MS
    )
    await teacher.get_by_role("button", name="Present", exact=True).click()
    await shows(teacher, 1, "full")
    await shows(ben, 1, "small")
    # in audio + slides the slide takes the video's place
    assert await ben.locator("#video #slide-panel").count() == 1
    await teacher.get_by_role("button", name="Next ▶", exact=True).click()
    await shows(ben, 2, "small")
    await expect(teacher.locator("#slides-now")).to_contain_text("slide 2 of 4")

    # a late joiner (full video) and the facilitator show the page being presented
    late = await web.student(1)
    facilitator = await web.facilitator("north-a")
    await shows(late, 2, "full")
    assert await late.locator("#video #slide-panel").count() == 0  # under the video
    await shows(facilitator, 2, "full")

    await teacher.get_by_label("Page", exact=True).fill("4")
    await teacher.get_by_role("button", name="Go", exact=True).click()
    for page, size in ((ben, "small"), (late, "full"), (facilitator, "full")):
        await shows(page, 4, size)
    await expect(teacher.get_by_role("button", name="Next ▶", exact=True)).to_be_disabled()
    await teacher.get_by_role("button", name="◀ Previous", exact=True).click()
    await shows(ben, 3, "small")
    await teacher.locator("body").press("ArrowLeft")  # the keyboard turns pages too
    await shows(ben, 2, "small")
    # each page once: 1, 2, 4, 3 (small); back to 2 comes from the page's cache
    assert await ben.evaluate("() => window.__hyflex.slides.images.fetched") == 4

    # audio + slides: the teacher's audio arrives, no video at all
    await ben.wait_for_function(
        f"async () => (await ({RECEIVED})()).audio > 2000", polling=250, timeout=WAIT_MS
    )
    received = await ben.evaluate(RECEIVED)
    assert received["video"] == 0, received
    assert await ben.evaluate("() => window.__hyflex.media.mode") == "audio_slides"

    await shot(teacher, "slides-teacher")
    await shot(ben, "slides-student-audio")
    await shot(late, "slides-student-full")
    await shot(facilitator, "slides-facilitator")

    await teacher.get_by_role("button", name="Stop presenting", exact=True).click()
    await expect(ben.locator("#slide-panel")).to_be_hidden()
    await expect(ben.locator("#video .audio-note")).to_be_visible()


async def upload_ready(web: WebClass) -> int:
    async with httpx.AsyncClient(base_url=web.base) as http:
        login = await http.post(
            "/api/auth/login", json={"email": "teacher@demo.hyflex", "password": DEMO_PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        files = {"file": ("Deck.pdf", deck_pdf(3), "application/pdf")}
        resp = await http.post(
            f"/api/sessions/{web.session_id}/slides", headers=headers, files=files
        )
        assert resp.status_code == 202, resp.text
    deck_id: int = resp.json()["deck_id"]
    await slides.wait_rendered(deck_id)
    return deck_id




async def test_the_catch_up_player_turns_the_pages_with_the_recording(web: WebClass) -> None:
    deck_id = await upload_ready(web)
    teacher = await web.teacher()
    page = await web.student(6)
    await teacher.locator("#rec-toggle").click()  # nothing is recorded until the teacher asks
    await expect(teacher.locator("#rec")).to_be_visible(timeout=WAIT_MS)
    await teacher.get_by_role("button", name="Present", exact=True).click()
    await shows(page, 1, "full")
    await wait_more_frames(teacher, 40)
    await teacher.get_by_role("button", name="Next ▶", exact=True).click()
    await shows(page, 2, "full")
    await wait_more_frames(teacher, 40)
    await teacher.get_by_role("button", name="Next ▶", exact=True).click()
    await shows(page, 3, "full")
    await wait_more_frames(teacher, 30)
    teacher.on("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="End session", exact=True).click()
    await expect(teacher.locator("#rec")).to_be_hidden(timeout=WAIT_MS)

    await expect(page.locator("#catchup-note")).to_be_visible()
    await page.get_by_role("link", name="Watch the recording").click()
    await page.wait_for_url(f"**/catchup/{web.session_id}")
    video = page.locator("#recording")
    await expect(video).to_have_attribute("data-loaded", "1", timeout=WAIT_MS)
    history = await page.evaluate("() => window.__hyflex.state.slideHistory")
    assert [(c["deck_id"], c["page"]) for c in history] == [
        (deck_id, 1),
        (deck_id, 2),
        (deck_id, 3),
    ]
    positions = [c["position"] for c in history]
    assert positions == sorted(positions) and positions[1] > positions[0]
    for target, want in (
        ((positions[1] + positions[2]) / 2, 2),
        (positions[2] + 0.3, 3),
        ((positions[0] + positions[1]) / 2, 1),
    ):
        await page.evaluate(
            "(t) => { const v = document.querySelector('#recording');"
            " v.pause(); v.currentTime = t; }",
            target,
        )
        await shows(page, want, "full")
    await shot(page, "slides-catchup")
