"""Real-browser fixtures: Debian's Chromium driven by Playwright against a live server with the
demo consortium (SQLite). Pages sign in through the UI like people do."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from server.demo import DEMO_PASSWORD, DemoConsortium, seed_demo
from server.domain.engagement.settings import EngagementSettings
from server.settings import Settings
from streaming.loopback import restore_host_addresses, use_loopback_only
from tests.databases import SqliteFactory
from tests.live_server import LiveServer, start_server

CHROMIUM = os.environ.get("HYFLEX_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--allow-loopback-in-peer-connection",
]
# HYFLEX_SCREENSHOTS=1 refreshes the pictures in docs/screenshots/ (the README shows them);
# otherwise they go to a scratch folder, so a test run leaves the work tree clean.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("HYFLEX_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "hyflex-screenshots"
)
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
WAIT_MS = 10_000

expect.set_options(timeout=WAIT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without Chromium the browser tests fail (deploy/test.sh installs it), so a missing
    install step cannot hide behind skips; HYFLEX_SKIP_BROWSER=1 skips them on purpose."""
    if os.environ.get("HYFLEX_SKIP_BROWSER") == "1":
        skip = pytest.mark.skip(reason="HYFLEX_SKIP_BROWSER=1")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)
    elif shutil.which(CHROMIUM) is None and any("browser" in i.keywords for i in items):
        raise pytest.UsageError(
            f"no Chromium at {CHROMIUM}: run deploy/test.sh (installs Debian's chromium) or set "
            "HYFLEX_SKIP_BROWSER=1 to skip the browser tests on purpose"
        )


@pytest.fixture
def database_url(tmp_path: Path, sqlite_factory: SqliteFactory) -> str:
    """Browser tests run on SQLite only (the server's storage is covered elsewhere)."""
    return sqlite_factory.create(tmp_path / "browser.db")


@pytest.fixture(autouse=True)
def loopback_ice() -> Iterator[None]:
    """The relay (in this process) offers 127.0.0.1 only, as the browser is told to accept:
    every page now publishes or receives media."""
    use_loopback_only()
    yield
    restore_host_addresses()


# Fast engagement fusion for tests (the defaults wait 8-20 s before a label changes); the
# small-sample guard (min_students = 3) and the shares stay at their defaults.
FAST_ENGAGEMENT = EngagementSettings(
    smoothing_s=0.5,
    enter_after_s=0.5,
    leave_after_s=0.5,
    min_dwell_s=0.5,
    tick_resolution_s=0.25,
)


@dataclass
class WebClass:
    server: LiveServer
    demo: DemoConsortium
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def session_id(self) -> int:
        assert self.demo.session.id is not None
        return self.demo.session.id

    async def page(
        self, viewport: ViewportSize | None = None, init_script: str | None = None
    ) -> Page:
        """A fresh page in its own browser context (own storage, like another device)."""
        context: BrowserContext = await self.browser.new_context(viewport=viewport or DESKTOP)
        self.contexts.append(context)
        if init_script:
            await context.add_init_script(init_script)
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        return page

    async def staff(
        self,
        email: str,
        console: str,
        viewport: ViewportSize | None = None,
        init_script: str | None = None,
    ) -> Page:
        """Sign in at / and open the session's console, as a member of staff would."""
        page = await self.page(viewport, init_script)
        await page.goto(self.base + "/")
        await page.get_by_label("E-mail").fill(email)
        await page.get_by_label("Password").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.locator(f'a[href="/{console}/{self.session_id}"]').click()
        await page.wait_for_url(f"**/{console}/{self.session_id}")
        await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
        return page

    async def teacher(self, init_script: str | None = None) -> Page:
        return await self.staff("teacher@demo.hyflex", "teacher", init_script=init_script)

    async def facilitator(self, code: str = "north-a") -> Page:
        return await self.staff(f"facilitator.{code}@demo.hyflex", "facilitator")

    async def join_tokens(self) -> dict[int, str]:
        """Students' join-link tokens by student id (handed out by the teacher)."""
        async with httpx.AsyncClient(base_url=self.base) as http:
            login = await http.post(
                "/api/auth/login",
                json={"email": "teacher@demo.hyflex", "password": DEMO_PASSWORD},
            )
            login.raise_for_status()
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            links = await http.post(f"/api/sessions/{self.session_id}/join-links", headers=headers)
            links.raise_for_status()
        return {row["student_id"]: row["token"] for row in links.json()}

    async def student(
        self, index: int, viewport: ViewportSize | None = None, init_script: str | None = None
    ) -> Page:
        """Student ``index`` of the demo (0-7 site A, 8-15 site B, ..., 32-39 at home) opens
        their join link."""
        student_id = self.demo.students[index].id
        assert student_id is not None
        token = (await self.join_tokens())[student_id]
        page = await self.page(viewport, init_script)
        await page.goto(f"{self.base}/join#{token}")
        await page.wait_for_url(f"**/student/{self.session_id}")
        await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
        return page

    async def close_pages(self) -> None:
        """Close every page's peer connections (so server-side peers do not linger), then the
        contexts."""
        for context in self.contexts:
            for page in context.pages:
                with contextlib.suppress(Exception):  # a page that already went away
                    await asyncio.wait_for(  # bounded: a page must not hold the teardown
                        page.evaluate("async () => { await window.__hyflex?.media?.close?.(); }"),
                        10,
                    )
        for context in self.contexts:
            await context.close()
        self.contexts.clear()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One Chromium per test module (each test gets fresh contexts)."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def web(settings: Settings, browser: Browser) -> AsyncIterator[WebClass]:
    settings.ws_rate_per_second = 200
    settings.ws_rate_burst = 400
    settings.engagement = FAST_ENGAGEMENT
    server = await start_server(settings)
    demo = await seed_demo(server.app.state.services.sessions)
    web = WebClass(server, demo, browser)
    try:
        yield web
    finally:
        await web.close_pages()
        await server.stop()


async def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a PNG of the page (under docs/screenshots/ with HYFLEX_SCREENSHOTS=1)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


async def frames_sent(teacher: Page) -> int:
    """Frames of the teacher's own camera painted in the preview (the feed being recorded)."""
    count: int = await teacher.evaluate(
        "() => Number(document.querySelector('#self-view').dataset.frames ?? 0)"
    )
    return count


async def wait_more_frames(teacher: Page, more: int, timeout_ms: float = 30_000) -> None:
    """Let the recording run on: `more` further frames of the teacher's own camera."""
    start = await frames_sent(teacher)
    await teacher.wait_for_function(
        "(n) => Number(document.querySelector('#self-view').dataset.frames ?? 0) >= n",
        arg=start + more,
        polling=200,
        timeout=timeout_ms,
    )
