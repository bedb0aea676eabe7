"""The catch-up player: the lesson is recorded while the teacher's console publishes; an
embedded question is launched mid-lesson; after the session ends, a student who did not answer opens
/catchup/{id}: the recording stops at the question's moment, the answer is stored as a catch-up
answer, and playback resumes."""

from __future__ import annotations

import fractions
from pathlib import Path

import av
import pytest
from playwright.async_api import Page, expect

from server.realtime.media.recording import list_recordings, session_dir
from tests.browser.conftest import WebClass, shot, wait_more_frames

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 30_000




async def test_catch_up_player_stops_at_the_question_and_stores_a_catch_up_answer(
    web: WebClass,
) -> None:
    teacher = await web.teacher()
    # a student who is connected but does not answer in class (a join link can no longer be
    # exchanged once the session has ended: POST /api/auth/join answers invalid_state)
    student = web.demo.students[6]
    page = await web.student(6)
    await teacher.locator("#rec-toggle").click()  # nothing is recorded until the teacher asks
    await expect(teacher.locator("#rec")).to_be_visible(timeout=WAIT_MS)
    await wait_more_frames(teacher, 30)  # about 1.5 s of lesson before the question
    await teacher.get_by_label("Embedded question", exact=True).check()
    await teacher.get_by_label("Answer type").select_option("single")
    await teacher.get_by_label("Prompt").fill("Which way does friction act?")
    await teacher.get_by_label("Options, one per line").fill("with the motion\nagainst the motion")
    await teacher.get_by_label("Answer key (optional)").fill("2")
    await teacher.get_by_role("button", name="Launch question now").click()
    await expect(teacher.locator("#results article.is-open")).to_contain_text("friction")
    await wait_more_frames(teacher, 40)  # and some after it
    teacher.on("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="End session").click()
    await expect(teacher.locator("#session-status")).to_have_text("ended")
    await expect(teacher.locator("#rec")).to_be_hidden(timeout=WAIT_MS)

    # after the lesson, the student's page offers the recording
    await expect(page.locator("#catchup-note")).to_be_visible()
    await page.get_by_role("link", name="Watch the recording").click()
    await page.wait_for_url(f"**/catchup/{web.session_id}")
    video = page.locator("#recording")
    await expect(video).to_have_attribute("data-loaded", "1", timeout=WAIT_MS)
    await expect(page.locator("#markers li")).to_have_count(1)
    # playback stops at the question's moment on the lesson clock
    await expect(video).to_have_attribute("data-paused-for", "1", timeout=WAIT_MS)
    position = await page.evaluate("() => window.__hyflex.state.questions.get(1).position")
    state = await page.evaluate(
        "() => ({t: document.querySelector('#recording').currentTime,"
        " paused: document.querySelector('#recording').paused})"
    )
    assert state["paused"] and position - 0.5 <= state["t"] <= position + 0.5, (state, position)
    card = page.locator("#question-slot article")
    await expect(card).to_contain_text("Which way does friction act?")
    await shot(page, "catchup-player")
    await card.get_by_role("button", name="against the motion").click()
    # stored as a catch-up answer, and the video plays on
    await expect(page.locator('#markers li[data-question="1"]')).to_contain_text("catch-up")
    await expect(video).not_to_have_attribute("data-paused-for", "1")
    await page.wait_for_function(
        "(p) => { const v = document.querySelector('#recording');"
        " return !v.paused && v.currentTime > p + 0.2 || v.ended; }",
        arg=position,
        timeout=WAIT_MS,
    )
    runtime = await web.server.app.state.realtime.runtime(web.session_id)
    answer = runtime.live.state.questions.questions[1].answers[student.id]
    assert answer.catch_up is True and answer.correct is True


# The status line names the player's own position: "Paused at m:ss" as the video's bar reads it.
STATUS_FOLLOWS_PLAYER = """() => {
  const v = document.querySelector('#recording');
  const s = Math.floor(v.currentTime);
  const at = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  return v.paused && !v.seeking
    && document.querySelector('#rec-status').textContent.startsWith(`Paused at ${at}`);
}"""


async def test_after_a_seek_the_pause_label_tells_where_the_player_is(web: WebClass) -> None:
    teacher = await web.teacher()
    page = await web.student(7)
    await teacher.locator("#rec-toggle").click()  # nothing is recorded until the teacher asks
    await expect(teacher.locator("#rec")).to_be_visible(timeout=WAIT_MS)
    await wait_more_frames(teacher, 30)
    await teacher.get_by_label("Embedded question", exact=True).check()
    await teacher.get_by_label("Answer type").select_option("text")
    await teacher.get_by_label("Prompt").fill("Name one contact force")
    await teacher.get_by_role("button", name="Launch question now").click()
    await expect(teacher.locator("#results article.is-open")).to_contain_text("contact force")
    await wait_more_frames(teacher, 100)  # about 5 s after the question
    teacher.on("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="End session").click()
    await expect(teacher.locator("#rec")).to_be_hidden(timeout=WAIT_MS)

    await page.get_by_role("link", name="Watch the recording").click()
    await page.wait_for_url(f"**/catchup/{web.session_id}")
    video = page.locator("#recording")
    await expect(video).to_have_attribute("data-paused-for", "1", timeout=WAIT_MS)
    await page.wait_for_function(STATUS_FOLLOWS_PLAYER, timeout=WAIT_MS)
    position = await page.evaluate("() => window.__hyflex.state.questions.get(1).position")
    # the student drags the bar well past the question: the label follows the bar
    await page.evaluate(
        "(t) => { document.querySelector('#recording').currentTime = t; }", position + 3
    )
    await page.wait_for_function(STATUS_FOLLOWS_PLAYER, timeout=WAIT_MS)
    await expect(video).not_to_have_attribute("data-paused-for", "1")
    now = await page.evaluate("() => document.querySelector('#recording').currentTime")
    assert now >= position + 2.5, (now, position)
    await shot(page, "catchup-after-seek")
    # the question's marker goes back to it: play from just before, stop at the question
    await page.locator('#markers li[data-question="1"] button').click()
    await expect(video).to_have_attribute("data-paused-for", "1", timeout=WAIT_MS)
    await page.wait_for_function(STATUS_FOLLOWS_PLAYER, timeout=WAIT_MS)
    stopped = await page.evaluate("() => document.querySelector('#recording').currentTime")
    assert position - 0.5 <= stopped <= position + 0.5, (stopped, position)


async def test_a_seek_before_the_camera_started_stays_where_the_student_put_it(
    web: WebClass,
) -> None:
    """The lesson clock starts when the session starts; the teacher's camera came 20 s later.
    The bar spans the lesson from its start, so a seek into those 20 s lands there (it used to
    snap forward to the camera's first frame)."""
    runtime = await web.server.app.state.realtime.runtime(web.session_id)
    runtime.live.state.presence.started_at -= 20  # the session started 20 s before the camera
    teacher = await web.teacher()
    page = await web.student(8)
    await teacher.locator("#rec-toggle").click()  # nothing is recorded until the teacher asks
    await expect(teacher.locator("#rec")).to_be_visible(timeout=WAIT_MS)
    await wait_more_frames(teacher, 40)
    teacher.on("dialog", lambda dialog: dialog.accept())
    await teacher.get_by_role("button", name="End session").click()
    await expect(teacher.locator("#rec")).to_be_hidden(timeout=WAIT_MS)

    await page.get_by_role("link", name="Watch the recording").click()
    await page.wait_for_url(f"**/catchup/{web.session_id}")
    video = page.locator("#recording")
    await expect(video).to_have_attribute("data-loaded", "1", timeout=WAIT_MS)
    await page.wait_for_function("() => document.querySelector('#recording').duration > 20")
    for target in (5, 12):
        landed = await page.evaluate(
            """(t) => new Promise((resolve) => {
                 const v = document.querySelector('#recording');
                 v.pause();
                 v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
                 v.currentTime = t;
               })""",
            target,
        )
        assert abs(landed - target) < 0.5, (target, landed)
    await shot(page, "catchup-seek-before-camera")


# The shared screen. Headless Chromium here has no screen to share, so these tests write the
# lesson's files themselves with PyAV (real VP8 WebM, decoded by Chromium), laid out as
# streaming/recording.py writes them: the camera file on the lesson clock from 0, the screen
# file in `<camera stem>.screen.webm` on the same clock from the moment the share began.
MS = fractions.Fraction(1, 1000)
CAMERA = "lesson-20261201T090000Z.webm"


def write_webm(path: Path, start_ms: int, seconds: int, luma: int) -> None:
    """A VP8 WebM of one flat grey picture every 100 ms, stamped from ``start_ms`` (lesson ms)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        stream.codec_context.time_base = MS
        for i in range(seconds * 10):
            frame = av.VideoFrame(160, 120, "yuv420p")
            for plane, value in zip(frame.planes, (luma, 128, 128), strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
            frame.pts = start_ms + i * 100
            frame.time_base = MS
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


async def open_catchup(web: WebClass, index: int) -> Page:
    page = await web.student(index)
    await page.goto(f"{web.base}/catchup/{web.session_id}")
    await expect(page.locator("#recording")).to_have_attribute("data-loaded", "1", timeout=WAIT_MS)
    await page.wait_for_function("() => document.querySelector('#recording').readyState >= 2")
    return page


SEEK_MAIN = """(t) => new Promise((resolve) => {
  const v = document.querySelector('#recording');
  v.pause();
  v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
  v.currentTime = t;
})"""

SCREEN_AT = """([t, tol]) => { const s = document.querySelector('#catchup-screen');
  return !s.seeking && Math.abs(s.currentTime - t) <= tol; }"""


async def test_the_shared_screen_plays_beside_the_camera_and_follows_its_position(
    web: WebClass,
) -> None:
    folder = session_dir(web.server.app.state.services.settings.data_dir, web.session_id)
    write_webm(folder / CAMERA, 0, 8, 40)  # the camera: lesson 0-8 s
    write_webm(folder / "lesson-20261201T090000Z.screen.webm", 3000, 4, 220)  # shared 3-7 s
    page = await open_catchup(web, 9)
    screen = page.locator("#catchup-screen")
    await expect(screen).to_have_attribute("data-loaded", "1", timeout=WAIT_MS)
    await expect(page.get_by_label("Shared screen", exact=True)).to_be_visible()
    # the screen file's own clock is the lesson clock: it reads the share's start once loaded
    await expect(screen).to_have_attribute("data-start", "3", timeout=WAIT_MS)
    main_duration = await page.evaluate("() => document.querySelector('#recording').duration")
    assert abs(main_duration - 8) < 0.2, main_duration  # the camera is the main recording
    panel = page.locator("figure.catchup-screen")
    # a seek of the main player moves the screen to the same lesson moment
    for target in (5.0, 3.5, 6.2):
        landed = await page.evaluate(SEEK_MAIN, target)
        await page.wait_for_function(SCREEN_AT, arg=[landed, 0.1], timeout=WAIT_MS)
        await expect(panel).to_have_attribute("data-sharing", "1")
    # before the share began the screen stands at its first picture, dimmed, and says so
    await page.evaluate(SEEK_MAIN, 1.0)
    await page.wait_for_function(SCREEN_AT, arg=[3.0, 0.1], timeout=WAIT_MS)
    await expect(panel).to_have_attribute("data-sharing", "0")
    await expect(panel.locator("figcaption")).to_contain_text("shared it from 0:03")
    # play and rate follow the main player; while both play they stay within the drift bound
    await page.evaluate(SEEK_MAIN, 4.0)
    await page.evaluate(
        "() => { const v = document.querySelector('#recording'); v.muted = true;"
        " v.playbackRate = 1.5; return v.play(); }"
    )
    await page.wait_for_function(
        "() => { const v = document.querySelector('#recording'),"
        " s = document.querySelector('#catchup-screen');"
        " return v.currentTime > 4.5 && !s.paused && s.playbackRate === 1.5; }",
        timeout=WAIT_MS,
    )
    await shot(page, "catchup-shared-screen")
    pair = await page.evaluate(
        "() => { const v = document.querySelector('#recording'); v.pause();"
        " return [v.currentTime, document.querySelector('#catchup-screen').currentTime]; }"
    )
    assert abs(pair[0] - pair[1]) <= 0.5, pair
    await page.wait_for_function(
        "() => document.querySelector('#catchup-screen').paused", timeout=WAIT_MS
    )


async def test_a_lesson_without_a_screen_file_shows_no_screen_and_never_plays_one(
    web: WebClass,
) -> None:
    """A screen file of another (later) recording, without its camera file, is listed last:
    it is neither the main recording nor this camera's screen."""
    folder = session_dir(web.server.app.state.services.settings.data_dir, web.session_id)
    write_webm(folder / CAMERA, 0, 8, 40)
    write_webm(folder / "lesson-20261201T100000Z.screen.webm", 2000, 3, 220)
    page = await open_catchup(web, 10)
    data_dir = web.server.app.state.services.settings.data_dir
    names = [item.name for item in list_recordings(data_dir, web.session_id)]
    assert names[-1] == "lesson-20261201T100000Z.screen.webm", names
    main_duration = await page.evaluate("() => document.querySelector('#recording').duration")
    assert abs(main_duration - 8) < 0.2, main_duration  # the camera file, not the screen file
    await expect(page.locator("#catchup-screen")).to_have_count(0)
    await expect(page.locator("figure.catchup-screen")).to_have_count(0)
