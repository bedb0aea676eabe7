"""Real Chromium pages publish and receive through the relay with ``client_web/js/media.js``:
the teacher's fake camera reaches a student's page, where frames are decoded and painted."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from server.domain.roles import Role
from server.realtime.media.bridge import MediaBridge
from tests.browser.conftest import WebClass

PAGE_DIR = Path(__file__).resolve().parent / "media_page"
WAIT_MS = 20_000

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


def _token(web: WebClass, user_id: int, role: Role) -> str:
    signer = web.server.app.state.services.signer
    return str(
        signer.issue(user_id=user_id, role=role, typ="access", now=time.time(), ttl_seconds=3600)
    )


async def _open(web: WebClass, user_id: int, role: Role) -> Page:
    """The test page on the server's own origin: a page served by interception would count as
    a public address and Chromium's local-network checks would block its websocket."""
    page = await web.page()
    page.set_default_timeout(WAIT_MS)
    token = _token(web, user_id, role)
    await page.goto(f"{web.base}/healthz#session={web.session_id}&token={token}")
    await page.set_content((PAGE_DIR / "index.html").read_text())
    await page.add_script_tag(content=(PAGE_DIR / "page.js").read_text(), type="module")
    await page.wait_for_function("() => window.mediaTest !== undefined")
    await page.evaluate("() => window.mediaTest.ready")
    return page


async def _counts(page: Page) -> dict[str, Any]:
    counts: dict[str, Any] = await page.evaluate("() => window.mediaTest.counts()")
    return counts


async def test_teacher_page_publishes_student_page_decodes(web: WebClass) -> None:
    teacher = await _open(web, web.demo.teacher.id or 0, Role.TEACHER)
    student = await _open(web, web.demo.students[32].id or 0, Role.STUDENT)
    pages = [teacher, student]
    try:
        published = await teacher.evaluate(
            "() => window.mediaTest.publish({camera: true, microphone: true})"
        )
        assert published == {"publisher": "teacher", "tracks": 2}
        subscribed = await student.evaluate("() => window.mediaTest.subscribe({mode: 'full'})")
        assert "teacher/camera" in subscribed["slots"]
        await student.evaluate("() => window.mediaTest.startStats()")
        await student.wait_for_function(
            """() => (window.mediaTest.decoded['teacher/camera'] ?? 0) > 20
                && window.mediaTest.rendered('teacher/camera') > 10""",
            polling=250,
            timeout=WAIT_MS,
        )
        counts = await _counts(student)
        sent = await teacher.evaluate("() => window.mediaTest.sentFrames()")
        assert sent > 0 and counts["decoded"]["teacher/camera"] > 20
        # a student's page may not publish off stage: a typed refusal reaches the page
        refused = await student.evaluate(
            "() => window.mediaTest.publishFails({camera: true, microphone: false})"
        )
        assert refused == "not_permitted"
        # browser SDP (codecs pinned) fits the default websocket message limit
        sizes = await teacher.evaluate("() => window.mediaTest.sdpSizes()")
        assert sizes and max(sizes) < web.server.app.state.services.settings.ws_max_message_bytes
        # the student's getStats report reached the server's quality summary
        runtime = await web.server.app.state.realtime.runtime(web.session_id)
        bridge = runtime.extensions["media"]
        assert isinstance(bridge, MediaBridge)
        await student.wait_for_function("() => window.mediaTest.acked('media.report') > 0")
        report = bridge.reports[web.demo.students[32].id or 0]
        assert report.frames_decoded and report.leg == "subscribe"
    finally:
        for page in pages:  # peer connections first, then the pages
            await page.evaluate("() => window.mediaTest.close()")
        for page in pages:
            await page.context.close()
    room = bridge.room
    assert room is not None
    await room.wait_until(lambda: room.live_counts().peer_connections == 0, 15)
