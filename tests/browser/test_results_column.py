"""The teacher's results column stays about a screen tall however many activities the lesson
has: newest first and in full, older ones folded to a line, finished ones hideable."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, ViewportSize, expect

from tests.browser.conftest import DESKTOP, PHONE, WebClass, shot
from tests.browser.test_live_class import open_poll

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def results_height(teacher: Page) -> float:
    box = await teacher.locator("#results").bounding_box()
    assert box is not None
    return float(box["height"])


@pytest.mark.parametrize(("viewport", "bound"), [(DESKTOP, 1300), (PHONE, 1700)])
async def test_many_activities_keep_the_results_column_bounded(
    web: WebClass, viewport: ViewportSize, bound: int
) -> None:
    teacher = await web.staff("teacher@demo.hyflex", "teacher", viewport=viewport)
    ada = await web.student(0)
    for n in range(1, 6):
        await open_poll(teacher, f"Poll number {n}", ["A", "B", "C", "D"])
        card = teacher.locator(f'#results [data-ref="p{n}"]')
        if n == 1:
            await ada.get_by_role("button", name="C", exact=True).click()
            await expect(card.locator('.chart-block[data-site="total"]')).to_have_attribute(
                "data-answered", "1"
            )
        await card.get_by_role("button", name="Close").click()
        await expect(card).to_have_class(" ".join(["card", "result-card", "is-closed"]))
    await teacher.get_by_label("Yes/no check", exact=True).check()
    await teacher.get_by_label("Prompt").fill("Ready for the next part?")
    await teacher.get_by_role("button", name="Open check").click()

    cards = teacher.locator("#results > *")
    await expect(cards).to_have_count(6)
    # the newest on top, in full; the older ones folded, newest first
    await expect(cards.first).to_have_attribute("data-ref", "c1")
    await expect(cards.first.locator(".chart")).to_be_visible()
    refs = [await c.get_attribute("data-ref") for c in await cards.all()]
    assert refs == ["c1", "p5", "p4", "p3", "p2", "p1"]
    await expect(teacher.locator("#results details.is-folded:not([open])")).to_have_count(5)
    height = await results_height(teacher)
    assert height < bound, height
    await teacher.locator("#results").scroll_into_view_if_needed()
    await shot(teacher, f"teacher-results-column-{viewport['width']}")

    # an older one opens on demand, with its results
    first = teacher.locator('#results [data-ref="p1"]')
    await first.locator("summary").click()
    await expect(first.locator('.chart-block[data-site="total"]')).to_have_attribute(
        "data-answered", "1"
    )
    await expect(first.get_by_role("button", name="Reveal to class")).to_be_visible()

    # finished ones can be hidden, and come back; the open check stays
    await teacher.get_by_role("button", name="Hide closed").click()
    await expect(cards).to_have_count(1)
    await teacher.reload()  # kept for this session in this tab
    await expect(teacher.locator("#conn")).to_have_attribute("data-status", "live")
    await expect(cards).to_have_count(1)
    await teacher.get_by_role("button", name="Show hidden (5)").click()
    await expect(cards).to_have_count(6)
