"""The stage and drop-outs in the real views: a student brought on stage sees their own camera
and a microphone level while the teacher's stage tile decodes their video; a student whose
network drops gets their media back by itself (same mode, still on stage, sending again) and
never reads the server's internals."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from server.realtime.core.engine import CLOSE_MOVED
from server.realtime.media import bridge as media_bridge
from server.realtime.media.bridge import MediaBridge
from tests.browser.conftest import PHONE, WebClass, shot
from tests.browser.test_views_media import WAIT_MS, decoded, frames_at_least, server_mode

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

STAGE_TILE = '#video-grid .video-tile[data-pid="stage"]'
# Everything a student reads in toasts and the media notice, kept from the first page load.
RECORD_TEXTS = """
(() => {
  window.__shown = [];
  const keep = () => {
    for (const sel of ["#toasts", "#media-notice", "#banner"]) {
      const text = document.querySelector(sel)?.textContent?.trim();
      if (text && !window.__shown.includes(text)) window.__shown.push(text);
    }
  };
  new MutationObserver(keep).observe(document,
    { subtree: true, childList: true, characterData: true });
})();
"""
INTERNAL = re.compile(
    r"of yours|subscri|pending|user-\d|site-\d|media\.|error|undefined|sdp|RTC|\bpid\b", re.I
)


async def bridge(web: WebClass) -> MediaBridge:
    runtime = await web.server.app.state.realtime.runtime(web.session_id)
    found = runtime.extensions["media"]
    assert isinstance(found, MediaBridge)
    return found


async def student(web: WebClass, index: int) -> Page:
    """Student ``index`` opens their join link, with what they read recorded."""
    page = await web.student(index)
    await page.add_init_script(RECORD_TEXTS)
    await page.reload()
    await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
    return page


async def bring_on_stage(web: WebClass, teacher: Page, speaker: Page, index: int) -> None:
    await speaker.get_by_role("button", name="Raise hand").click()
    name = web.demo.students[index].display_name
    bring = re.compile(f"^Bring {re.escape(name)} .*on stage$")
    await teacher.get_by_role("button", name=bring).click()


SHOWN_VIDEOS = """() => {
  const header = document.querySelector('header').getBoundingClientRect();
  const boxes = ['#video', '#on-stage'].map(s => document.querySelector(s).getBoundingClientRect());
  const inside = (r, b) => r.top >= b.top - 1 && r.bottom <= b.bottom + 1
    && r.left >= b.left - 1 && r.right <= b.right + 1;
  return [...document.querySelectorAll('video')].filter(v => {
    const r = v.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(v).visibility !== 'hidden';
  }).map(v => {
    const r = v.getBoundingClientRect();
    const out = r.top < header.bottom || !boxes.some(b => inside(r, b));
    return [v.id, out, Number(v.dataset.frames ?? 0)];
  });
}"""


async def stray_videos(page: Page) -> list[str]:
    """Videos shown outside the lesson's box or the on-stage panel, or shown without a moving
    picture (their painted-frame count does not advance by 3 within the wait)."""
    before = {vid: count for vid, _, count in await page.evaluate(SHOWN_VIDEOS)}
    stalled = f"""() => ({SHOWN_VIDEOS})().filter(([id, out, n]) => n < ({before!r}[id] ?? 0) + 3)
        .map(([id]) => id)"""
    try:
        await page.wait_for_function(f"() => ({stalled})().length === 0", timeout=5_000)
    except PlaywrightTimeout:
        return [f"{vid} (no moving picture)" for vid in await page.evaluate(stalled)]
    return [f"{vid} (outside)" for vid, out, _ in await page.evaluate(SHOWN_VIDEOS) if out]


async def frames(page: Page, selector: str) -> int:
    return int(await page.eval_on_selector(selector, "el => Number(el.dataset.frames ?? 0)"))


async def test_student_on_stage_sees_themselves_and_the_teacher_sees_them(web: WebClass) -> None:
    teacher = await web.teacher()
    cleo = await student(web, 3)
    await bring_on_stage(web, teacher, cleo, 3)

    # the student: a clear on-stage state, their own camera (muted) and a microphone level
    panel = cleo.locator("#on-stage")
    await expect(panel).to_be_visible()
    await expect(panel).to_contain_text("You are on stage")
    await expect(panel).to_have_attribute("data-state", "sending", timeout=WAIT_MS)
    await expect(cleo.locator("#hand")).to_contain_text("You are on stage")
    await frames_at_least(cleo, "#self-preview", 10)
    assert await cleo.eval_on_selector("#self-preview", "el => el.muted") is True
    await cleo.wait_for_function(
        "() => Number(document.querySelector('#mic-level').dataset.peak) > 0", timeout=WAIT_MS
    )

    # the teacher: the stage tile decodes the student's video
    tile = teacher.locator(STAGE_TILE)
    await expect(tile).to_be_visible(timeout=WAIT_MS)
    await expect(tile).to_have_attribute("data-decoding", "1", timeout=WAIT_MS)
    await expect(tile.locator(".tile-status")).to_have_text("live")
    await expect(tile.locator("figcaption")).to_contain_text(web.demo.students[3].display_name)
    await frames_at_least(teacher, f"{STAGE_TILE} video", 10)
    assert await decoded(teacher, "stage:camera") >= 10
    await shot(cleo, "student-on-stage")
    await shot(teacher, "teacher-stage-tile")

    # returned from stage: the student's camera stops and the tile goes away
    name = web.demo.students[3].display_name
    await teacher.get_by_role("button", name=re.compile(f"^Return {re.escape(name)} ")).click()
    await expect(panel).to_be_hidden()
    await expect(tile).to_be_hidden()
    room = (await bridge(web)).room
    assert room is not None
    pid = f"user-{web.demo.students[3].id}"
    await room.wait_until(lambda: pid not in room.publishers, 10)
    assert await cleo.eval_on_selector("#self-preview", "el => el.srcObject") is None


async def test_media_and_stage_come_back_after_a_drop_out(
    web: WebClass, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media_bridge, "GRACE_SECONDS", 0.5)  # legs close soon after a drop
    teacher = await web.teacher()
    ada = await student(web, 0)  # watching in full mode
    cleo = await student(web, 2)  # on stage
    await bring_on_stage(web, teacher, cleo, 2)
    await frames_at_least(ada, "#teacher-video", 10)
    await frames_at_least(teacher, f"{STAGE_TILE} video", 10)
    ada_pid = f"user-{web.demo.students[0].id}"
    cleo_id = web.demo.students[2].id
    cleo_pid = f"user-{cleo_id}"
    found = await bridge(web)
    room = found.room
    assert room is not None and cleo_pid in room.publishers

    # the network drops: no way back for now, and the server sees both websockets go
    for page in (ada, cleo):
        await page.context.set_offline(True)
    for conn in found.runtime.hub.connections():
        if conn.actor.user_id in (web.demo.students[0].id, cleo_id):
            conn.kick(CLOSE_MOVED)
    await room.wait_until(
        lambda: not {ada_pid, cleo_pid} & (set(room.subscribers) | set(room.publishers)), 15
    )
    assert [e.target.user_id for e in found.runtime.live.state.hands.stage] == [cleo_id]
    seen_by_ada = await frames(ada, "#teacher-video")
    seen_by_teacher = await frames(teacher, f"{STAGE_TILE} video")

    # the network comes back: the media comes back by itself
    for page in (ada, cleo):
        await page.context.set_offline(False)
    for page in (ada, cleo):
        await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
    await ada.wait_for_function("() => window.__hyflex.media.subscriptions >= 2", timeout=WAIT_MS)
    await frames_at_least(ada, "#teacher-video", seen_by_ada + 10)
    await ada.wait_for_function(  # on the new peer connection
        "async () => ((await window.__hyflex.media.frames())['teacher/camera'] ?? 0) >= 10",
        polling=250,
        timeout=WAIT_MS,
    )
    assert await ada.evaluate("() => window.__hyflex.media.mode") == "full"
    assert await server_mode(web, 0) == "full"
    # still on stage, sending again: the teacher's stage tile decodes again
    await expect(cleo.locator("#on-stage")).to_be_visible()
    await expect(cleo.locator("#hand")).to_contain_text("You are on stage")
    await room.wait_until(lambda: cleo_pid in room.publishers, 15)
    await frames_at_least(teacher, f"{STAGE_TILE} video", seen_by_teacher + 10)

    # nothing internal was ever shown; no video sits outside the lesson's box or shows black
    shown_cleo: list[str] = await cleo.evaluate("() => window.__shown")
    assert any("reconnecting" in text.lower() for text in shown_cleo), shown_cleo  # the banner
    for page in (ada, cleo):
        shown: list[str] = await page.evaluate("() => window.__shown")
        assert not [text for text in shown if INTERNAL.search(text)], shown
        assert await stray_videos(page) == []


async def test_an_answer_to_a_copy_sent_again_shows_no_toast(web: WebClass) -> None:
    """After a resume the page re-sends commands still waiting; the server may answer a copy of
    one it had already answered (media signalling is not logged) with an error naming that id.
    Nobody waits for it any more, so the student is shown nothing."""
    ada = await student(web, 5)
    code = await ada.evaluate(  # the page's own handler sees the error frame first
        """() => new Promise((resolve) => {
             const ws = window.__hyflex.conn.ws;
             ws.addEventListener("message", (m) => {
               const frame = JSON.parse(m.data);
               if (frame.id === "answered-before-1") resolve(frame.code);
             });
             ws.send(JSON.stringify(
               {type: "media.mode", id: "answered-before-1", data: {mode: "4k"}}));
           })"""
    )
    assert code == "bad_input"
    assert await ada.locator("#toasts .toast").count() == 0
    assert await ada.evaluate("() => window.__shown") == []


async def test_a_phone_on_stage_fits_the_screen(web: WebClass) -> None:
    teacher = await web.teacher()
    cleo = await web.student(3, PHONE)
    await bring_on_stage(web, teacher, cleo, 3)
    await expect(cleo.locator("#on-stage")).to_have_attribute("data-state", "sending")
    await shot(cleo, "student-phone-on-stage", full_page=True)
    width = await cleo.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


async def test_data_saver_shows_who_is_on_stage_also_after_a_drop_out(
    web: WebClass, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media_bridge, "GRACE_SECONDS", 0.5)  # legs close soon after a drop
    teacher = await web.teacher()
    ben = await student(web, 32)  # at home
    hugo = await student(web, 4)
    await bring_on_stage(web, teacher, hugo, 4)
    stage_video = ben.locator("#stage-video")
    await expect(stage_video).to_be_visible(timeout=WAIT_MS)  # full mode: his picture
    await frames_at_least(ben, "#stage-video", 5)

    await ben.get_by_label("Data saver").check()
    label = ben.locator("#stage-label")
    await expect(stage_video).to_be_hidden()  # the relay sends no stage video now
    await expect(label).to_have_text("On stage: A classmate (you hear them)")

    found = await bridge(web)
    ben_id = web.demo.students[32].id
    await ben.context.set_offline(True)
    for conn in found.runtime.hub.connections():
        if conn.actor.user_id == ben_id:
            conn.kick(CLOSE_MOVED)
    room = found.room
    assert room is not None
    await room.wait_until(lambda: f"user-{ben_id}" not in room.subscribers, 15)
    await ben.context.set_offline(False)
    await expect(ben.locator("#conn")).to_have_attribute("data-status", "live")
    await ben.wait_for_function("() => window.__hyflex.media.subscriptions >= 2", timeout=WAIT_MS)
    assert await server_mode(web, 32) == "audio_slides"  # the same mode as before
    await expect(stage_video).to_be_hidden()
    await expect(label).to_be_visible()
    await shot(ben, "student-data-saver-stage-after-drop")
    assert await stray_videos(ben) == []
