"""A student's join link that does not work says so in plain words, and what to do."""

from __future__ import annotations

import time

import pytest
from playwright.async_api import expect

from server.domain.roles import Role
from tests.browser.conftest import PHONE, WebClass, shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_a_broken_or_expired_join_link_says_what_to_do(web: WebClass) -> None:
    page = await web.page(PHONE)
    tokens = list((await web.join_tokens()).values())
    student = web.demo.students[0].id
    assert student is not None
    expired = web.server.app.state.services.signer.issue(
        user_id=student,
        role=Role.STUDENT,
        typ="join",
        now=time.time() - 7200,
        ttl_seconds=60,
        session_id=web.session_id,
    )
    for fragment in ("garbage", "a.b.c", tokens[0][:-6] + "AAAAAA", expired, "%E0%A4%A"):
        await page.goto("about:blank")  # a new load (a fragment alone would not reload)
        await page.goto(f"{web.base}/join#{fragment}")
        await expect(page.locator("#join-h")).to_have_text("This link does not work")
        message = page.locator("#join-msg")
        await expect(message).to_have_text(
            "The link is not valid or has expired. "
            "Ask your teacher or your room's facilitator for a new link."
        )
        await page.wait_for_url("**/join")  # the fragment is wiped either way
    await shot(page, "join-link-broken")
    await page.goto(f"{web.base}/join")
    await expect(page.locator("#join-h")).to_have_text("This link is incomplete")
    await expect(page.locator("#join-msg")).to_contain_text("Ask your teacher")


async def test_a_tampered_link_opened_after_an_empty_one_says_it_is_not_valid(
    web: WebClass,
) -> None:
    """Opening a link in a tab already on /join changes only the fragment (no new load): the
    page reads the new link, it does not keep the old answer."""
    page = await web.page(PHONE)
    token = next(iter((await web.join_tokens()).values()))
    await page.goto(f"{web.base}/join")
    await expect(page.locator("#join-h")).to_have_text("This link is incomplete")
    await page.goto(f"{web.base}/join#{token[:-3]}abc")  # the signature no longer matches
    await expect(page.locator("#join-h")).to_have_text("This link does not work")
    await expect(page.locator("#join-msg")).to_contain_text("not valid or has expired")
    await page.wait_for_url("**/join")
    await page.goto(f"{web.base}/join#{token}")  # and a good one still opens the class
    await page.wait_for_url(f"**/student/{web.session_id}")
