"""Media in the real views: the teacher console publishes its (fake) camera, students' pages and
the facilitator's page decode it, the facilitator's room feed decodes in the teacher's grid; the
data saver and the weak-link fallback switch the server-side mode; a missing camera or a
refused permission leaves a clear message and a class that still works."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from server.realtime.media.bridge import MediaBridge
from tests.browser.conftest import PHONE, WebClass, shot
from tests.browser.test_live_class import open_poll, site_block

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 20_000
# The screen "shared" in tests is Chromium's fake camera (getDisplayMedia needs a picker).
FAKE_SCREEN = """
navigator.mediaDevices.getDisplayMedia = (c) => navigator.mediaDevices.getUserMedia({video: true});
"""
QUALITY_LOG = """
window.__qualityShown = [];
new MutationObserver(() => {
  const text = document.querySelector("#net-quality")?.textContent;
  const shown = window.__qualityShown;
  if (text && shown[shown.length - 1] !== text) shown.push(text);
}).observe(document, { subtree: true, childList: true, characterData: true });
"""
NO_DEVICES = """
(() => {
  const fail = (name, msg) => Promise.reject(new DOMException(msg, name));
  navigator.mediaDevices.getUserMedia = (c) => c && c.video
    ? fail("NotAllowedError", "Permission denied")
    : fail("NotFoundError", "Requested device not found");
})();
"""


async def frames_at_least(page: Page, selector: str, n: int) -> None:
    """Painted frames (requestVideoFrameCallback count kept by the page) reach n."""
    await page.wait_for_function(
        "([sel, n]) => Number(document.querySelector(sel)?.dataset.frames ?? 0) >= n",
        arg=[selector, n],
        polling=200,
        timeout=WAIT_MS,
    )


async def decoded(page: Page, slot: str) -> int:
    """framesDecoded of one received slot, from the page's getStats."""
    counts: dict[str, int] = await page.evaluate("() => window.__hyflex.media.frames()")
    return counts.get(slot, 0)


async def server_mode(web: WebClass, user_index: int) -> str:
    runtime = await web.server.app.state.realtime.runtime(web.session_id)
    bridge = runtime.extensions["media"]
    assert isinstance(bridge, MediaBridge)
    pid = f"user-{web.demo.students[user_index].id}"
    return bridge._subs[pid].mode  # the server's view of the mode


async def test_teacher_video_reaches_students_and_site_feed_reaches_the_grid(web: WebClass) -> None:
    teacher = await web.teacher(init_script=FAKE_SCREEN)
    facilitator = await web.facilitator("north-a")
    ada = await web.student(0)
    ben = await web.student(32, PHONE, init_script=QUALITY_LOG)
    north_a = web.demo.sites[0].id

    # the teacher's camera decodes on both students' pages and the facilitator's
    for page in (ada, ben, facilitator):
        await frames_at_least(page, "#teacher-video", 15)
        assert await decoded(page, "teacher/camera") >= 15
    # the facilitator's room camera decodes in the teacher's grid, in that site's tile
    tile = teacher.locator(f'#video-grid .video-tile[data-site="{north_a}"]')
    await expect(tile).to_have_attribute("data-decoding", "1", timeout=WAIT_MS)
    await frames_at_least(teacher, f'#video-grid .video-tile[data-site="{north_a}"] video', 15)
    assert await decoded(teacher, f"site-{north_a}/camera") >= 15
    await expect(tile.locator("figcaption")).to_contain_text(web.demo.sites[0].name)
    # the other sites' tiles wait, labelled
    other = teacher.locator(f'#video-grid .video-tile[data-site="{web.demo.sites[1].id}"]')
    await expect(other).to_have_attribute("data-decoding", "0")
    # while the link monitor takes its first measurement (about 4 s) the indicator says
    # "starting", not "off" over a playing video, then what getStats shows
    await expect(ben.locator("#net-quality")).to_have_attribute(
        "data-quality", "good", timeout=WAIT_MS
    )
    shown = await ben.evaluate("() => window.__qualityShown")
    assert shown[0] == "Video: off", shown  # the page before any media
    assert shown[1:3] == ["Video: starting", "Video: good"], shown
    # the connection indicator is fed by getStats
    await expect(ada.locator("#net-quality")).to_have_attribute(
        "data-quality", "good", timeout=WAIT_MS
    )

    # screen share: the student's page shows it next to the camera
    await teacher.get_by_role("button", name="Share screen").click()
    await expect(teacher.get_by_role("button", name="Stop sharing")).to_be_visible()
    await expect(ada.locator("#screen-video")).to_be_visible(timeout=WAIT_MS)
    await frames_at_least(ada, "#screen-video", 10)

    await shot(teacher, "teacher-console-video")
    await shot(facilitator, "facilitator-site")
    await shot(ada, "student-desktop")
    await shot(ben, "student-phone")

    # data saver: the server's subscription goes to audio + slides and back
    await ben.get_by_text("Data saver (audio + slides)").click()
    await expect(ben.locator("#video")).to_have_attribute("data-mode", "audio_slides")
    await ben.wait_for_function("() => window.__hyflex.media.mode === 'audio_slides'")
    assert await server_mode(web, 32) == "audio_slides"
    await ben.get_by_text("Data saver (audio + slides)").click()
    await ben.wait_for_function("() => window.__hyflex.media.mode === 'full'")
    assert await server_mode(web, 32) == "full"

    # automatic fallback with hysteresis: 2 poor samples do nothing, 3 in a row switch...
    # (only the samples fed here count: the page's own sampling stops, and a fallback it may
    # already have made on a loaded machine is undone first)
    feed = "(q) => window.__hyflex.player.feed(q)"
    await ada.evaluate("() => window.__hyflex.media.monitor.stop()")
    if await ada.evaluate("() => window.__hyflex.player.policy.weak"):
        for _ in range(10):
            await ada.evaluate(feed, "good")
    await ada.wait_for_function("() => window.__hyflex.media.mode === 'full'")
    for quality in ("poor", "poor", "fair", "poor", "poor"):
        await ada.evaluate(feed, quality)
    assert await ada.evaluate("() => window.__hyflex.media.mode") == "full"
    await ada.evaluate(feed, "poor")
    await expect(ada.locator("#mode-note")).to_contain_text("Weak connection")
    await ada.wait_for_function("() => window.__hyflex.media.mode === 'audio_slides'")
    assert await server_mode(web, 0) == "audio_slides"
    # ...and only 10 good samples in a row bring the video back
    for _ in range(9):
        await ada.evaluate(feed, "good")
    assert await ada.evaluate("() => window.__hyflex.media.mode") == "audio_slides"
    await ada.evaluate(feed, "good")
    await ada.wait_for_function("() => window.__hyflex.media.mode === 'full'")
    assert await server_mode(web, 0) == "full"
    await expect(ada.locator("#mode-note")).to_have_text("")


async def test_no_camera_permission_shows_why_and_the_class_goes_on(web: WebClass) -> None:
    teacher = await web.teacher(init_script=NO_DEVICES)
    cleo = await web.student(1)
    notice = teacher.locator("#media-notice")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("Camera access is blocked")
    await expect(notice).to_contain_text("No microphone was found")
    # nothing to send, but polls work and results arrive by site
    await open_poll(teacher, "Still with me?", ["yes", "no"])
    card = cleo.locator("#activity article.is-open")
    await expect(card).to_contain_text("Still with me?")
    await card.get_by_role("button", name="yes").click()
    await expect(site_block(teacher, web.demo.sites[0].id)).to_have_attribute("data-answered", "1")
    # the student's page says there is no video yet, without an error
    await expect(cleo.locator("#video .video-placeholder")).to_be_visible()
    await expect(cleo.locator("#media-notice")).to_be_hidden()
    await shot(teacher, "teacher-console-no-camera")
