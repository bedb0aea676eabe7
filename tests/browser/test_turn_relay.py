"""Media through TURN only: a real coturn (Debian's ``turnserver``) on loopback with
``use-auth-secret``, the server handing each participant short-lived credentials
(``GET /api/sessions/{id}/ice``), and Chromium forced to relay-only ICE (``?ice=relay``, the
client option used by tests) the way a school network that blocks direct UDP forces it.
Expired credentials fail with a sentence for the person, not a silent black tile."""

from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, Route, expect
from pydantic import SecretStr

from server.demo import DEMO_PASSWORD, seed_demo
from server.settings import Settings
from tests.browser.conftest import FAST_ENGAGEMENT, WAIT_MS, WebClass
from tests.browser.test_views_media import decoded, frames_at_least
from tests.live_server import start_server
from tests.ops.test_health_metrics import sample
from tests.turn_server import TURNSERVER, TurnServer, running_coturn

pytestmark = [
    pytest.mark.browser,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(
        shutil.which(TURNSERVER) is None,
        reason="coturn's turnserver is not installed (deploy/test.sh installs Debian's coturn)",
    ),
]

# The selected candidate pair's local candidate type on one leg of the page (getStats).
SELECTED_TYPE = """async (leg) => {
  const media = await import("/static/js/media.js");
  const pc = media.currentPeer(window.__hyflex.media.conn, leg);
  if (!pc) return null;
  const stats = await pc.getStats();
  let pair = null;
  const local = {};
  stats.forEach((s) => {
    if (s.type === "candidate-pair" && s.state === "succeeded" && s.nominated) pair = s;
    if (s.type === "local-candidate") local[s.id] = s.candidateType;
  });
  return pair ? local[pair.localCandidateId] ?? null : null;
}"""


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[TurnServer]:
    with running_coturn(tmp_path / "coturn") as server:
        yield server


@pytest_asyncio.fixture(loop_scope="module")
async def turn_web(
    settings: Settings, browser: Any, coturn: TurnServer
) -> AsyncIterator[WebClass]:
    settings.ws_rate_per_second = 200
    settings.ws_rate_burst = 400
    settings.engagement = FAST_ENGAGEMENT
    settings.turn_urls = coturn.urls
    settings.turn_secret = SecretStr(coturn.secret)
    settings.turn_ttl_seconds = 600
    server = await start_server(settings)
    demo = await seed_demo(server.app.state.services.sessions)
    web = WebClass(server, demo, browser)
    try:
        yield web
    finally:
        await web.close_pages()
        await server.stop()


async def relay_teacher(web: WebClass, page: Page) -> Page:
    """The teacher signs in and opens the console in relay-only mode."""
    await page.goto(web.base + "/")
    await page.get_by_label("E-mail").fill("teacher@demo.hyflex")
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.locator(f'a[href="/teacher/{web.session_id}"]').wait_for()
    await page.goto(f"{web.base}/teacher/{web.session_id}?ice=relay")
    await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
    return page


async def test_relay_only_media_goes_through_coturn(turn_web: WebClass, coturn: TurnServer) -> None:
    web = turn_web
    teacher = await relay_teacher(web, await web.page())
    student = await web.student(0)
    await student.goto(f"{web.base}/student/{web.session_id}?ice=relay")
    await expect(student.locator("#conn")).to_have_attribute("data-status", "live")

    # the teacher's camera decodes on the student's page...
    await frames_at_least(student, "#teacher-video", 15)
    assert await decoded(student, "teacher/camera") >= 15
    # ...both legs having connected over a relay candidate, and only relay ones were offered
    assert await teacher.evaluate(SELECTED_TYPE, "publish") == "relay"
    assert await student.evaluate(SELECTED_TYPE, "subscribe") == "relay"
    sdp = await teacher.evaluate(
        """async () => (await import("/static/js/media.js"))
             .currentPeer(window.__hyflex.media.conn, "publish").localDescription.sdp"""
    )
    assert " typ relay" in sdp and " typ host" not in sdp

    # coturn saw the allocations, under the per-participant names the server handed out
    teacher_id = web.demo.teacher.id
    log = coturn.log_text()
    assert "ALLOCATE processed, success" in log, log[-2000:]
    assert f":u{teacher_id}" in log
    # the relay's own peers got TURN credentials of their own too
    assert ":hyflex-relay" in log
    # the page was given credentials, not the secret
    html = await teacher.content()
    assert coturn.secret not in html

    # credentials near their end are fetched again before the next peer connection
    fetched: list[str] = []
    teacher.on("request", lambda r: fetched.append(r.url) if r.url.endswith("/ice") else None)
    renewed = await teacher.evaluate(
        """async () => {
             const ice = window.__hyflex.media.ice;
             const before = ice.cached.iceServers.at(-1).username;
             ice.cached.refreshAfterMs = Date.now() - 1;
             const now = await ice.current();
             return [before, now.iceServers.at(-1).username, now.iceTransportPolicy];
           }"""
    )
    assert len(fetched) == 1
    assert int(renewed[1].split(":")[0]) >= int(renewed[0].split(":")[0])
    assert renewed[2] == "relay"

    # the relay's figures on /metrics
    async with httpx.AsyncClient(base_url=web.base) as http:
        metrics = (await http.get("/metrics")).text
    assert sample(metrics, "hyflex_relay_subscribers") >= 1
    assert sample(metrics, "hyflex_relay_publishers") >= 1
    assert sample(metrics, "hyflex_relay_packets_sent_total") > 0


async def test_expired_turn_credentials_fail_with_a_clear_message(
    turn_web: WebClass, coturn: TurnServer
) -> None:
    web = turn_web
    page = await web.page()

    async def expired(route: Route) -> None:
        """The server's answer with every TURN pass dated an hour ago (correctly signed, so
        only its expiry is wrong)."""
        response = await route.fetch()
        body = await response.json()
        for entry in body["ice_servers"]:
            if "username" in entry:
                who = entry["username"].split(":", 1)[1]
                username = f"{int(time.time()) - 3600}:{who}"
                mac = hmac.new(coturn.secret.encode(), username.encode(), hashlib.sha1)
                entry["username"] = username
                entry["credential"] = base64.b64encode(mac.digest()).decode()
        await route.fulfill(response=response, json=body)

    await page.route("**/api/sessions/*/ice", expired)
    teacher = await relay_teacher(web, page)
    notice = teacher.locator("#media-notice")
    await expect(notice).to_contain_text(
        "the school's relay server (TURN) refused this browser's pass", timeout=WAIT_MS
    )
    assert await teacher.evaluate(SELECTED_TYPE, "publish") is None
    assert "401" in coturn.log_text()
