"""The end of the lesson as people see it: every page stops its own camera, microphone and shared
screen and closes its peer connections, and nothing that was live still reads as live."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, WebClass, shot
from tests.browser.test_views_media import WAIT_MS, frames_at_least
from tests.browser.test_views_stage import STAGE_TILE, bring_on_stage

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# Every track the page gets from the browser (camera, microphone, screen) and every peer
# connection it opens, kept for the test; the "screen" is Chromium's fake camera.
RECORD_MEDIA = """
(() => {
  window.__tracks = [];
  window.__peers = [];
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = async (c) => {
    const s = await gum(c);
    window.__tracks.push(...s.getTracks());
    return s;
  };
  md.getDisplayMedia = (c) => md.getUserMedia({video: true});
  const Peer = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new Peer(...args);
    window.__peers.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Peer.prototype;
})();
"""
HANDLE = re.compile("Acknowledge|Snooze")
TRACK_STATES = "() => window.__tracks.map((t) => `${t.kind}:${t.readyState}`)"
PEER_STATES = "() => window.__peers.map((pc) => pc.signalingState)"


async def recorded(page: Page) -> Page:
    await page.add_init_script(RECORD_MEDIA)
    await page.reload()
    await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
    return page


async def all_stopped(page: Page) -> None:
    await page.wait_for_function(
        f"() => ({TRACK_STATES})().every((s) => s.endsWith(':ended'))"
        f" && ({PEER_STATES})().every((s) => s === 'closed')",
        timeout=WAIT_MS,
    )


async def test_every_camera_microphone_and_screen_stops_at_the_end(web: WebClass) -> None:
    teacher = await recorded(await web.teacher())
    facilitator = await recorded(await web.facilitator("north-a"))
    cleo = await recorded(await web.student(3))
    await teacher.get_by_role("button", name="Share screen").click()
    await expect(teacher.get_by_role("button", name="Stop sharing")).to_be_visible()
    await bring_on_stage(web, teacher, cleo, 3)
    await expect(cleo.locator("#on-stage")).to_have_attribute("data-state", "sending")
    await frames_at_least(teacher, "#self-view", 5)
    await frames_at_least(facilitator, "#self-view", 5)
    for page, least in ((teacher, 3), (facilitator, 2), (cleo, 2)):
        states: list[str] = await page.evaluate(TRACK_STATES)
        assert len(states) >= least and all(s.endswith(":live") for s in states), states

    teacher.on("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="End session").click()
    for page in (teacher, facilitator, cleo):
        await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
        await all_stopped(page)
    # the previews are still: no picture of a camera that is off
    for page, preview in ((teacher, "#self-view"), (facilitator, "#self-view")):
        assert await page.eval_on_selector(preview, "el => el.srcObject") is None
    await expect(teacher.locator("#net-quality")).to_have_text("Video: off")


async def test_nothing_reads_as_live_after_the_end(web: WebClass) -> None:
    teacher = await web.teacher()
    facilitator = await web.facilitator("north-a")
    ben = await web.student(32, PHONE)  # at home, on a phone, data saver on
    await ben.get_by_label("Data saver").check()
    hugo = await web.student(4)
    await bring_on_stage(web, teacher, hugo, 4)
    site_tile = teacher.locator(f'#video-grid .video-tile[data-pid="site-{web.demo.sites[0].id}"]')
    await expect(site_tile.locator(".tile-status")).to_have_text("live", timeout=WAIT_MS)
    await expect(teacher.locator(STAGE_TILE).locator(".tile-status")).to_have_text("live")
    await facilitator.get_by_role("button", name="Site needs help").click()
    await expect(facilitator.get_by_role("button", name="Help requested (cancel)")).to_be_visible()
    await hugo.get_by_label("Ask the teacher a question").fill("Is the test next week?")
    await hugo.get_by_role("button", name="Ask", exact=True).click()
    upvote = ben.locator("#qna-list button").first
    await expect(upvote).to_be_enabled()

    teacher.on("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="End session").click()
    await expect(teacher.locator("#session-status")).to_have_text("ended")
    # the teacher: room tiles and the stage say the video ended, none says "live"
    for tile in await teacher.locator("#video-grid .video-tile:visible").all():
        await expect(tile.locator(".tile-status")).to_have_text("ended")
    # the facilitator: nothing to press, no live alert
    await expect(facilitator.locator("#site-help")).to_be_disabled()
    await expect(facilitator.locator("#site-hand")).to_be_disabled()
    for page in (teacher, facilitator):
        await expect(page.get_by_role("button", name=HANDLE)).to_have_count(0)
        await expect(page.locator('#pulse [data-level="alert"]')).to_have_count(0)
        await expect(page.locator("#pulse .chip")).to_have_text(
            ["Lesson ended"] * await page.locator("#pulse .chip").count()
        )
    # the students: no voting, no note about the media of a lesson that is over
    await expect(ben.locator("#qna-list button")).to_have_count(0)  # the votes, as text
    await expect(ben.locator("#qna-list .votes")).to_have_text("▲ 0")
    await expect(ben.locator(".audio-note")).to_be_hidden()
    await expect(ben.locator("#video-placeholder-text")).to_have_text("The lesson has ended.")
    # on the phone the ended placeholder sits on the page's own background, not a dark band
    background = await ben.eval_on_selector("#video", "el => getComputedStyle(el).backgroundColor")
    assert background in ("rgba(0, 0, 0, 0)", "transparent"), background
    await shot(teacher, "teacher-lesson-ended")
    await shot(facilitator, "facilitator-lesson-ended")
    await shot(ben, "student-phone-data-saver-ended")
