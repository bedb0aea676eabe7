"""LTI launches in Chromium from the test LMS (tests/lti/platform.py, standing in for Canvas or
Moodle): the state cookie survives the LMS's form post, a learner lands in the live lesson
and an instructor in the teacher console, signed in; an admin registers an LMS on /admin/lti."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from server.demo import DEMO_PASSWORD
from server.settings import Settings
from tests.browser.conftest import WAIT_MS, shot
from tests.lti.conftest import TEACHER, Lms, learner, running_lms
from tests.lti.platform import CLIENT_ID, PendingLaunch

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module")
async def lms(settings: Settings) -> AsyncIterator[Lms]:
    async with running_lms(settings) as running:
        running.place("rl-1")
        yield running


def _login_url(lms: Lms, launch: PendingLaunch, hint: str) -> str:
    lms.platform.launches[hint] = launch
    query = {
        "iss": lms.platform.issuer,
        "login_hint": launch.person.sub,
        "target_link_uri": f"{lms.tool}/lti/launch",
        "lti_message_hint": hint,
        "client_id": CLIENT_ID,
    }
    return f"{lms.tool}/lti/login?{urlencode(query)}"


async def test_learner_and_instructor_land_in_the_lesson(lms: Lms, browser: Browser) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        await page.goto(_login_url(lms, PendingLaunch(learner(1)), "b-learner"))
        await page.wait_for_url(f"**/student/{lms.session_id}")
        await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
    finally:
        await context.close()
    context = await browser.new_context()
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        await page.goto(_login_url(lms, PendingLaunch(TEACHER), "b-teacher"))
        await page.wait_for_url(f"**/teacher/{lms.session_id}")
        await expect(page.locator("#conn")).to_have_attribute("data-status", "live")
    finally:
        await context.close()


async def test_a_refused_launch_shows_a_plain_page(lms: Lms, browser: Browser) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        launch = PendingLaunch(learner(2), patch={"aud": "another-tool"})
        await page.goto(_login_url(lms, launch, "b-bad"))
        await expect(page.get_by_role("heading")).to_have_text("This LMS link did not open")
        await expect(page.locator("#lti-reason")).to_contain_text("meant for another tool")
        await shot(page, "lti-launch-refused")
    finally:
        await context.close()


async def test_an_admin_registers_an_lms(lms: Lms, browser: Browser) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        await page.goto(lms.tool + "/")
        await page.get_by_label("E-mail").fill(lms.demo.admin.email)
        await page.get_by_label("Password").fill(DEMO_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        # the signed-in home (the URL is "/" before and after: wait for what signing in shows)
        await page.get_by_role("link", name="Administration").click()
        await page.get_by_role("link", name="LMS connections").click()
        await page.wait_for_url("**/admin/lti")
        await expect(page.locator("#tool")).to_contain_text(f"{lms.tool}/lti/jwks")
        await expect(page.locator("#platforms")).to_contain_text(lms.platform.issuer)
        form = page.locator("#platform-form")
        await form.get_by_label("Name").fill("Moodle")
        await form.get_by_label("Issuer (platform ID)").fill("https://moodle.school.example")
        await form.get_by_label("Client ID").fill("moodle-client")
        await form.get_by_label("Deployment IDs (one a line)").fill("1\n2")
        await form.get_by_label("Authentication request URL").fill(
            "https://moodle.school.example/mod/lti/auth.php"
        )
        await form.get_by_label("Access token URL").fill(
            "https://moodle.school.example/mod/lti/token.php"
        )
        await form.get_by_label("Public keyset URL (JWKS)").fill(
            "https://moodle.school.example/mod/lti/certs.php"
        )
        await form.get_by_role("button", name="Save").click()
        await expect(form.locator(".form-ok")).to_have_text("Saved: Moodle.")
        await expect(page.locator("#platforms")).to_contain_text("moodle-client")
        await expect(page.locator("#platforms")).to_contain_text("1, 2")
        await expect(page.locator("#contexts")).to_contain_text("No launch")
        await shot(page, "admin-lms-connections", full_page=True)
    finally:
        await context.close()
