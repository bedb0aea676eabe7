"""The API docs work without the internet: in Chromium with every request off this server
refused, /docs shows the API's operations, with no Content-Security-Policy violation."""

from __future__ import annotations

import pytest
from playwright.async_api import ConsoleMessage, Route, expect

from tests.browser.conftest import WebClass, shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_api_docs_render_offline(web: WebClass) -> None:
    page = await web.page()
    elsewhere: list[str] = []
    errors: list[str] = []

    async def offline(route: Route) -> None:
        if route.request.url.startswith(web.base):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort("internetdisconnected")

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    await page.route("**/*", offline)
    page.on("console", console)
    await page.goto(f"{web.base}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("HyFlex Live")
    await expect(page.locator(".opblock").first).to_be_visible()
    assert await page.locator(".opblock").count() > 20
    await page.locator(".opblock-summary", has_text="/api/auth/login").first.click()
    await expect(page.get_by_role("button", name="Try it out")).to_be_visible()
    await shot(page, "api-docs-offline")
    assert elsewhere == []
    assert errors == []
