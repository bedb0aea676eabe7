"""A live class in real browsers: a teacher console, a facilitator's site view and students'
pages, each in its own browser context, against a running server."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import PHONE, WebClass, shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def open_poll(teacher: Page, prompt: str, options: list[str], key: str = "") -> None:
    """Launch an ad hoc single-choice poll through the launcher form."""
    await teacher.get_by_label("Poll", exact=True).check()
    await teacher.get_by_label("Answer type").select_option("single")
    await teacher.get_by_label("Prompt").fill(prompt)
    await teacher.get_by_label("Options, one per line").fill("\n".join(options))
    await teacher.get_by_label("Answer key (optional)").fill(key)
    await teacher.get_by_role("button", name="Open poll").click()


def site_block(page: Page, site: object) -> Locator:
    return page.locator("#results article").first.locator(f'.chart-block[data-site="{site}"]')


async def test_poll_answered_by_clicking_shows_per_site_results(web: WebClass) -> None:
    teacher = await web.teacher()
    facilitator = await web.facilitator("north-a")
    ada = await web.student(0)  # site north-a
    ben = await web.student(32, PHONE)  # at home, on a phone
    north_a = web.demo.sites[0].id

    await open_poll(teacher, "Which quantity is a vector?", ["mass", "velocity", "energy"], "2")
    for student in (ada, ben):
        card = student.locator("#activity article.prompt-card.is-open")
        await expect(card).to_contain_text("Which quantity is a vector?")
    await shot(ben, "student-phone-poll")
    await ada.get_by_role("button", name="velocity").click()
    await ben.get_by_role("button", name="mass").click()
    for student, picked in ((ada, "velocity"), (ben, "mass")):
        button = student.get_by_role("button", name=picked)
        await expect(button).to_have_attribute("aria-pressed", "true")

    # the teacher sees each site's answers and the total, live
    await expect(site_block(teacher, north_a)).to_have_attribute("data-answered", "1")
    await expect(site_block(teacher, "home")).to_have_attribute("data-answered", "1")
    await expect(site_block(teacher, "total")).to_have_attribute("data-answered", "2")
    await expect(site_block(teacher, north_a)).to_contain_text("1 correct")
    await expect(site_block(teacher, "home")).to_contain_text("0 correct")
    # the facilitator sees only their own site
    fac_blocks = facilitator.locator("#results article").first.locator(".chart-block")
    await expect(fac_blocks).to_have_count(1)
    await expect(fac_blocks.first).to_have_attribute("data-site", str(north_a))
    await expect(fac_blocks.first).to_have_attribute("data-answered", "1")

    # close and reveal: students see the class totals and the key
    await teacher.get_by_role("button", name="Close").first.click()
    await teacher.get_by_role("button", name="Reveal to class").click()
    await expect(ada.locator("#activity article.is-revealed")).to_contain_text("Class results")
    revealed = ada.locator("#activity article.is-revealed")
    await expect(revealed.locator(".is-correct")).to_contain_text("velocity")

    # a fuller room for the screenshots: a hand and a question
    await ben.get_by_role("button", name="Raise hand").click()
    await ada.get_by_label("Ask the teacher a question").fill("Is speed a vector too?")
    await ada.get_by_role("button", name="Ask", exact=True).click()
    await expect(teacher.locator("#qna-list .qna-text")).to_have_text(["Is speed a vector too?"])
    await expect(teacher.locator("#hand-count")).to_have_text("1")
    await shot(teacher, "teacher-console-poll-results")
    await shot(facilitator, "facilitator-site-poll")
    await shot(ada, "student-desktop-poll")


async def test_raised_hand_reaches_the_teachers_queue(web: WebClass) -> None:
    teacher = await web.teacher()
    facilitator = await web.facilitator("north-a")
    cleo = await web.student(1, PHONE)
    name = web.demo.students[1].display_name

    await cleo.get_by_role("button", name="Raise hand").click()
    entry = teacher.locator("#hand-queue li", has_text=name)
    await expect(entry).to_be_visible()
    await facilitator.get_by_role("button", name="Raise hand for the room").click()
    await expect(teacher.locator("#hand-queue li[data-kind=site]")).to_contain_text("whole room")
    await expect(teacher.locator("#hand-count")).to_have_text("2")
    # a student sees their own hand and how many are up, not whose
    await expect(cleo.locator("#hand")).to_have_attribute("title", "Hands raised in the class: 2")
    await shot(cleo, "student-phone-hand-raised")

    await entry.get_by_role("button", name=re.compile("Bring .* on stage")).click()
    await expect(cleo.locator("#hand")).to_have_text(re.compile("on stage"))
    await expect(teacher.locator("#stage")).to_contain_text(name)
    await expect(teacher.locator("#hand-count")).to_have_text("1")


async def test_html_in_qna_is_shown_as_text(web: WebClass) -> None:
    teacher = await web.teacher()
    asker = await web.student(2)
    reader = await web.student(9)
    attack = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'

    await asker.get_by_label("Ask the teacher a question").fill(attack)
    await asker.get_by_role("button", name="Ask", exact=True).click()
    for page in (teacher, asker, reader):
        item = page.locator("#qna-list .qna-text")
        await expect(item).to_have_text(attack)
        assert await page.evaluate("typeof window.__xss") == "undefined"
        assert await page.locator("#qna-list img, #qna-list script").count() == 0
    # the reader upvotes; the teacher's list shows the vote
    await reader.get_by_role("button", name=re.compile("^Upvote")).click()
    await expect(teacher.locator("#qna-list .votes")).to_have_text("▲ 1")
    await shot(reader, "student-qna")


async def test_student_drops_out_mid_poll_and_catches_up(web: WebClass) -> None:
    teacher = await web.teacher()
    dev = await web.student(3)
    await open_poll(teacher, "First poll: ready?", ["yes", "no"])
    await expect(dev.locator("#activity article.is-open")).to_contain_text("First poll")

    await dev.context.set_offline(True)
    await expect(dev.locator("#banner")).to_be_visible()
    await expect(dev.locator("#conn")).to_have_attribute("data-status", "reconnecting")
    await shot(dev, "student-reconnecting")
    # while the student is away: the teacher opens another poll; the student asks a question
    await teacher.get_by_role("button", name="Close").first.click()
    await open_poll(teacher, "Second poll: which force?", ["gravity", "friction"])
    await dev.get_by_label("Ask the teacher a question").fill("Sent while offline")
    await dev.get_by_role("button", name="Ask", exact=True).click()

    await dev.context.set_offline(False)
    await expect(dev.locator("#conn")).to_have_attribute("data-status", "live")
    await expect(dev.locator("#banner")).to_be_hidden()
    second = dev.locator("#activity article.is-open")
    await expect(second).to_contain_text("Second poll: which force?")
    await second.get_by_role("button", name="friction").click()
    await expect(site_block(teacher, "total")).to_have_attribute("data-answered", "1")
    # the question queued offline arrives once
    await expect(teacher.locator("#qna-list .qna-text")).to_have_text(["Sent while offline"])
    await expect(dev.locator("#qna-list .qna-text")).to_have_text(["Sent while offline"])


async def test_server_drops_a_slow_student_who_resumes_from_the_last_seq(web: WebClass) -> None:
    teacher = await web.teacher()
    finn = await web.student(4)
    finn_id = web.demo.students[4].id
    runtime = await web.server.app.state.realtime.runtime(web.session_id)
    (conn,) = [c for c in runtime.hub.connections() if c.actor.user_id == finn_id]
    # Finn's page notes on which connection (1st welcome or 2nd) the poll's card first shows
    await finn.evaluate(
        """() => {
          window.__cardOnWelcome = null;
          const activity = document.querySelector('#activity');
          const seen = new MutationObserver(() => {
            if (window.__cardOnWelcome === null && activity.querySelector('article')) {
              window.__cardOnWelcome = window.__hyflex.conn.welcomes;
              seen.disconnect();
            }
          });
          seen.observe(activity, {childList: true, subtree: true});
        }"""
    )
    assert await finn.locator("#activity article").count() == 0
    # what the hub does to a client whose bounded queue overflows: no more frames for it...
    conn.overflowed = True
    await open_poll(teacher, "Opened while Finn fell behind", ["a", "b"])
    await expect(teacher.locator("#results article.is-open")).to_be_visible()
    # ...then its writer closes it with 4408 "too slow: resume" (at its next wake: this one,
    # or earlier if Finn's page sent a command meanwhile, whose reply wakes the writer too)
    conn.wake.set()
    card = finn.locator("#activity article.is-open")
    await expect(card).to_contain_text("Opened while Finn fell behind")
    assert await finn.evaluate("window.__hyflex.conn.welcomes") == 2
    # the poll reached Finn only through the resume, never on the connection that fell behind
    assert await finn.evaluate("window.__cardOnWelcome") == 2
    await expect(finn.locator("#conn")).to_have_attribute("data-status", "live")
    await card.get_by_role("button", name="b").click()
    await expect(site_block(teacher, "total")).to_have_attribute("data-answered", "1")


async def test_a_student_answers_and_signals_with_the_keyboard_only(web: WebClass) -> None:
    teacher = await web.teacher()
    gia = await web.student(5)
    await open_poll(teacher, "Keyboard poll", ["left", "right"])
    option = gia.get_by_role("button", name="right")
    await expect(option).to_be_visible()
    for _ in range(30):  # Tab through the page until the option has the focus
        if await option.evaluate("el => el === document.activeElement"):
            break
        await gia.keyboard.press("Tab")
    else:
        raise AssertionError("the poll's options cannot be reached with Tab")
    await gia.keyboard.press("Enter")
    await expect(option).to_have_attribute("aria-pressed", "true")
    # the card was rebuilt with the answer; the focus is back on the same option
    assert await gia.evaluate("document.activeElement.dataset.fk") == "p1-o1"
    await expect(site_block(teacher, "total")).to_have_attribute("data-answered", "1")

    confused = gia.locator("#confused")
    await confused.focus()
    await gia.keyboard.press("Space")
    families = await gia.evaluate("window.__hyflex.schema.extra")
    if "engagement" in families:
        await expect(confused).to_have_attribute("aria-pressed", "true")
    else:  # kept for when the engagement module is deployed; says why it did nothing
        await expect(gia.locator(".toast-error")).to_contain_text("not available")
        await expect(confused).to_have_attribute("aria-pressed", "false")
