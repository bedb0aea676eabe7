"""What the teacher's console counts and sums: head counts of students only (never staff), and
the "All sites" block of a yes/no check and of a number question agreeing with the sites."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import WebClass, shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


def pulse_present(teacher: Page, site: object) -> object:
    return teacher.locator(f'#pulse .pulse-tile[data-site="{site}"] .present')


async def test_head_counts_are_of_students_only(web: WebClass) -> None:
    teacher = await web.teacher()  # at home (no site): not one of the 8 remote students
    facilitator = await web.facilitator("north-a")  # in the room: not one of its 8 students
    north_a = web.demo.sites[0].id
    await expect(facilitator.locator("#roster-count")).to_have_text("0 of 8 connected")
    await expect(pulse_present(teacher, "home")).to_have_text("0 of 8 present")
    await expect(pulse_present(teacher, north_a)).to_have_text("0 of 8 present")
    await expect(teacher.locator("#attendance")).to_have_text("0 of 40 students present")

    await web.student(0)  # north-a
    await web.student(32)  # at home
    await expect(pulse_present(teacher, north_a)).to_have_text("1 of 8 present")
    await expect(pulse_present(teacher, "home")).to_have_text("1 of 8 present")
    await expect(teacher.locator("#attendance")).to_have_text("2 of 40 students present")
    await expect(facilitator.locator("#roster-count")).to_have_text("1 of 8 connected")
    # a reload rebuilds the counts from the snapshot, still without staff
    await teacher.reload()
    await expect(teacher.locator("#conn")).to_have_attribute("data-status", "live")
    await expect(pulse_present(teacher, "home")).to_have_text("1 of 8 present")
    await expect(pulse_present(teacher, north_a)).to_have_text("1 of 8 present")


async def test_all_sites_totals_of_a_check_and_a_number_question(web: WebClass) -> None:
    teacher = await web.teacher()
    ada = await web.student(0)  # north-a
    bo = await web.student(8)  # another site

    await teacher.get_by_label("Yes/no check", exact=True).check()
    await teacher.get_by_label("Prompt").fill("Can you hear me?")
    await teacher.get_by_role("button", name="Open check").click()
    await ada.get_by_role("button", name="Yes", exact=True).click()
    await bo.get_by_role("button", name="No", exact=True).click()
    check = teacher.locator('#results article[data-ref="c1"]')
    total = check.locator('.chart-block[data-site="total"]')
    await expect(total.locator(".bar-count")).to_have_text(["1", "1"])
    await expect(total.locator("h4 small")).to_have_text("2 answered")
    await expect(total).to_have_attribute("data-answered", "2")

    await teacher.get_by_label("Embedded question", exact=True).check()
    await teacher.get_by_label("Answer type").select_option("numeric")
    await teacher.get_by_label("Prompt").fill("How many legs has a spider?")
    await teacher.get_by_role("button", name="Launch question now").click()
    for student, number in ((ada, "4"), (bo, "10")):
        card = student.locator('#activity article[data-ref="q1"]')
        await card.get_by_label("Your answer").fill(number)
        await card.get_by_role("button", name="Send").click()
        await expect(card.locator(".mine")).to_contain_text(number)
    question = teacher.locator('#results article[data-ref="q1"]')
    north_a = question.locator(f'.chart-block[data-site="{web.demo.sites[0].id}"]')
    await expect(north_a.locator("dd")).to_have_text(["4", "4", "4", "4"])
    # mean, median, min, max of 4 and 10, over every site
    await expect(question.locator('.chart-block[data-site="total"] dd')).to_have_text(
        ["7", "7", "4", "10"]
    )
    await shot(teacher, "teacher-number-totals")
    # after a reload the snapshot's total shows the same
    await teacher.reload()
    await expect(question.locator('.chart-block[data-site="total"] dd')).to_have_text(
        ["7", "7", "4", "10"]
    )
    await expect(total.locator("h4 small")).to_have_text("2 answered")


async def test_a_number_too_large_is_refused_with_a_message_and_chips_read_alike(
    web: WebClass,
) -> None:
    teacher = await web.teacher()
    facilitator = await web.facilitator("north-a")
    ada = await web.student(0)
    await teacher.get_by_label("Embedded question", exact=True).check()
    await teacher.get_by_label("Answer type").select_option("numeric")
    await teacher.get_by_label("Prompt").fill("How far is the Sun in metres?")
    await teacher.get_by_role("button", name="Launch question now").click()
    card = ada.locator('#activity article[data-ref="q1"]')
    await card.get_by_label("Your answer").fill("1e400")
    await card.get_by_role("button", name="Send").click()
    await expect(ada.locator("#toasts .toast-error")).to_contain_text("not a number we can take")
    await expect(card.locator(".mine")).to_have_count(0)  # nothing was sent
    await card.get_by_label("Your answer").fill("1.5e11")
    await card.get_by_role("button", name="Send").click()
    await expect(card.locator(".mine")).to_contain_text("150000000000")
    # the facilitator's status chips read like the teacher's
    chip = 'article[data-ref="q1"] .chip'
    await expect(teacher.locator(f"#results {chip}")).to_have_text("Open")
    await expect(facilitator.locator(f"#results {chip}")).to_have_text("Open")
