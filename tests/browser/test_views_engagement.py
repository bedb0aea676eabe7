"""Engagement in the real views: "I'm confused" from enough students at one site (the engine
judges a site only with >= 3 students whose state is known) turns the teacher's tile for that
site and raises an alert with its reasons; snooze, acknowledge, "Seen" reset the student's
button; the facilitator's "site needs help" toggle; tiles redrawn after a reconnect
(engagement.sync)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from server.demo import seed_demo
from server.domain.engagement import EngagementSettings
from server.domain.roles import Role
from server.settings import Settings
from tests.browser.conftest import WebClass, shot
from tests.browser.test_live_class import open_poll
from tests.live_server import WsClient, start_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

WAIT_MS = 15_000


async def ws_student(web: WebClass, index: int) -> WsClient:
    user_id = web.demo.students[index].id
    assert user_id is not None
    signer = web.server.app.state.services.signer
    token = str(
        signer.issue(
            user_id=user_id, role=Role.STUDENT, typ="access", now=time.time(), ttl_seconds=3600
        )
    )
    return await WsClient.open(web.server.ws_url(web.session_id), token)


async def test_confused_students_turn_the_sites_tile_and_staff_handle_it(web: WebClass) -> None:
    teacher = await web.teacher()
    facilitator = await web.facilitator("north-a")
    ada = await web.student(0)  # north-a, in a browser
    others = [await ws_student(web, i) for i in (1, 2)]  # north-a, over websockets
    north_a = web.demo.sites[0].id
    ada_name = web.demo.students[0].display_name
    tile = teacher.locator(f'#pulse .pulse-tile[data-site="{north_a}"]')
    try:
        for ws in others:
            await ws.ok("engagement.attention", {"visible": True, "focused": True, "idle_s": 0})
        # three students known at the site, all engaged: a calm, green tile
        await expect(tile.locator(".pulse-counts")).to_contain_text("3 engaged")
        await expect(tile).to_have_attribute("data-pulse", "engaged")

        confused = ada.locator("#confused")
        await confused.click()
        await expect(confused).to_have_attribute("aria-pressed", "true")
        for ws in others:
            await ws.ok("engagement.confused", {"active": True})
        await expect(tile).to_have_attribute("data-pulse", "confused")
        await expect(tile).to_have_attribute("data-level", "alert")
        await expect(tile.locator(".pulse-counts")).to_contain_text("3 confused")
        await expect(tile.locator(".pulse-reasons")).to_contain_text("pressed confused")
        alert = teacher.locator(f'#alert-tray li.state-confused[data-site="{north_a}"]')
        # one alert per site and state (the first judgement at alert level), saying why
        await expect(alert).to_contain_text(f"of 3 at {web.demo.sites[0].name} confused")
        await expect(alert.locator(".alert-reasons")).to_contain_text("pressed confused")
        # the facilitator sees their own site's pulse and alert; other sites never
        fac_tile = facilitator.locator("#pulse .pulse-tile")
        await expect(fac_tile).to_have_count(1)
        await expect(fac_tile).to_have_attribute("data-pulse", "confused")
        await expect(facilitator.locator("#alert-tray li.state-confused")).to_be_visible()
        # another site stays calm
        other_tile = teacher.locator(f'#pulse .pulse-tile[data-site="{web.demo.sites[1].id}"]')
        await expect(other_tile).not_to_have_attribute("data-pulse", "confused")

        # the teacher's page drops out; meanwhile one student withdraws; after the resume the
        # page asks for engagement.sync and the tile is right again
        await teacher.context.set_offline(True)
        await expect(teacher.locator("#conn")).to_have_attribute("data-status", "reconnecting")
        await others[0].ok("engagement.confused", {"active": False})
        await expect(fac_tile.locator(".pulse-counts")).to_contain_text("2 confused")
        await teacher.context.set_offline(False)
        await expect(teacher.locator("#conn")).to_have_attribute("data-status", "live")
        await expect(tile.locator(".pulse-counts")).to_contain_text("2 confused")
        await open_poll(teacher, "Which is a force?", ["push", "speed"])
        await shot(teacher, "teacher-console")
        await shot(teacher, "teacher-console-full", full_page=True)

        # snooze, then "Seen" for Ada: the server tells her (engagement.explicit), her button
        # resets
        await alert.get_by_role("button", name="Snooze 10 min").click()
        await expect(alert).to_contain_text("Snoozed")
        await tile.get_by_role("button", name=f"Seen: {ada_name}").click()
        await expect(confused).to_have_attribute("aria-pressed", "false")
        await expect(ada.locator(".toast").last).to_contain_text("teacher has seen it")
        # acknowledge: the alert leaves the tray
        await alert.get_by_role("button", name="Acknowledge").click()
        await expect(alert).to_have_count(0)

        # the facilitator asks for help; the teacher acknowledges; the toggle follows
        help_button = facilitator.locator("#site-help")
        await help_button.click()
        await expect(help_button).to_have_attribute("aria-pressed", "true")
        help_alert = teacher.locator(f'#alert-tray li.state-help[data-site="{north_a}"]')
        await expect(help_alert).to_contain_text("asks for help")
        await shot(facilitator, "facilitator-site-help")
        await help_alert.get_by_role("button", name="Acknowledge").click()
        await expect(help_button).to_have_attribute("aria-pressed", "false")
    finally:
        for ws in others:
            await ws.ws.close()


async def test_attention_telemetry_is_compact_and_bounded(web: WebClass) -> None:
    await web.teacher()
    gia = await web.student(5)
    sent = await gia.evaluate(
        """() => new Promise((resolve) => {
            const out = [];
            const ws = window.__hyflex.conn.ws;
            const original = ws.send.bind(ws);
            ws.send = (raw) => { out.push(JSON.parse(raw)); original(raw); };
            // a burst of focus changes: at most one message per 2 s goes out
            for (let i = 0; i < 20; i++) {
                window.dispatchEvent(new Event(i % 2 ? "focus" : "blur"));
                document.dispatchEvent(new Event("visibilitychange"));
            }
            window.__hyflex.conn.send("engagement.sync", {}).then(() => resolve(out));
        })"""
    )
    attention = [m for m in sent if m["type"] == "engagement.attention"]
    assert len(attention) <= 1
    for m in attention:
        assert set(m["data"]) == {"visible", "focused", "idle_s"}
    # the page keeps its own state: the student's snapshot (own state only) came back
    state = await gia.evaluate(
        "() => window.__hyflex.conn.ws && document.querySelector('#confused').dataset.state"
    )
    assert state in (None, "engaged", "unknown")


@pytest_asyncio.fixture(loop_scope="module")
async def web_default(settings: Settings, browser: Browser) -> AsyncIterator[WebClass]:
    """The class with the default (slow, smoothed) engagement settings: an explicit press must
    show at once anyway."""
    settings.ws_rate_per_second = 200
    settings.ws_rate_burst = 400
    settings.engagement = EngagementSettings()
    server = await start_server(settings)
    web = WebClass(server, await seed_demo(server.app.state.services.sessions), browser)
    try:
        yield web
    finally:
        await web.close_pages()
        await server.stop()


# Page-side stopwatch: epoch milliseconds (comparable across pages of one machine) when a
# student's entry appears in / leaves a pressed-list under #pulse, and when buttons are pressed.
STOPWATCH = """(uid) => {
    const now = () => performance.timeOrigin + performance.now();
    const t = (window.__t = {});
    const entry = () => document.querySelector(`#pulse .pressed-list [data-user="${uid}"]`);
    new MutationObserver(() => {
        if (entry() && t.shown === undefined) t.shown = now();
        if (!entry() && t.shown !== undefined && t.gone === undefined) t.gone = now();
    }).observe(document.querySelector("#pulse"), { childList: true, subtree: true });
    document.addEventListener("click", (e) => {
        if (e.target.closest(`[data-fk="seen-${uid}"]`)) t.seen = now();
    }, { capture: true });
}"""
STUDENT_STOPWATCH = """() => {
    const now = () => performance.timeOrigin + performance.now();
    const t = (window.__t = {});
    const button = document.querySelector("#confused");
    button.addEventListener("click", () => { t.press = now(); }, { capture: true });
    new MutationObserver(() => {
        const off = button.getAttribute("aria-pressed") === "false";
        if (t.press !== undefined && off) t.reset ??= now();
    }).observe(button, { attributes: true, attributeFilter: ["aria-pressed"] });
}"""


async def test_a_press_shows_the_name_to_staff_at_once_and_seen_clears_it(
    web_default: WebClass,
) -> None:
    web = web_default
    teacher = await web.teacher()
    facilitator = await web.facilitator("north-a")
    ada = await web.student(0)
    ada_id, north_a = web.demo.students[0].id, web.demo.sites[0].id
    ada_name = web.demo.students[0].display_name
    for page in (teacher, facilitator):
        await page.evaluate(STOPWATCH, ada_id)
    await ada.evaluate(STUDENT_STOPWATCH)
    tile = teacher.locator(f'#pulse .pulse-tile[data-site="{north_a}"]')
    shown = tile.locator(f'.pressed-list [data-user="{ada_id}"]')
    fac_shown = facilitator.locator(f'#pulse .pressed-list [data-user="{ada_id}"]')

    confused = ada.locator("#confused")
    await confused.click()
    # with the default smoothing the inferred state takes 14 s or more; the press is her own
    # word and shows at once, by name, to the teacher and her site's facilitator
    await expect(shown).to_contain_text(ada_name)
    await expect(fac_shown).to_contain_text(ada_name)
    await expect(confused).to_have_attribute("aria-pressed", "true")

    await shown.get_by_role("button", name=f"Seen: {ada_name}").click()
    await expect(shown).to_have_count(0)
    await expect(fac_shown).to_have_count(0)
    await expect(confused).to_have_attribute("aria-pressed", "false")

    t_teacher = await teacher.evaluate("() => window.__t")
    t_fac = await facilitator.evaluate("() => window.__t")
    t_ada = await ada.evaluate("() => window.__t")
    print(
        "explicit press latency (ms): "
        f"press->teacher {t_teacher['shown'] - t_ada['press']:.0f}, "
        f"press->facilitator {t_fac['shown'] - t_ada['press']:.0f}, "
        f"seen->teacher cleared {t_teacher['gone'] - t_teacher['seen']:.0f}, "
        f"seen->facilitator cleared {t_fac['gone'] - t_teacher['seen']:.0f}, "
        f"seen->student button reset {t_ada['reset'] - t_teacher['seen']:.0f}"
    )


async def test_a_help_request_survives_a_reload_and_only_the_teacher_handles_it(
    web: WebClass,
) -> None:
    teacher = await web.teacher()
    facilitator = await web.facilitator("north-a")
    ada = await web.student(0)
    north_a = web.demo.sites[0].id
    await facilitator.get_by_role("button", name="Site needs help").click()
    help_alert = teacher.locator(f'#alert-tray li.state-help[data-site="{north_a}"]')
    await expect(help_alert).to_contain_text("asks for help")
    # the facilitator sees their own request, but acknowledging it is the teacher's job
    fac_alert = facilitator.locator("#alert-tray li.state-help")
    await expect(fac_alert).to_contain_text("asks for help")
    await expect(fac_alert.get_by_role("button")).to_have_count(0)
    await shot(facilitator, "facilitator-own-help-request")

    # a reload (or a reconnect) gets the alerts still standing, snoozed or not
    await help_alert.get_by_role("button", name="Snooze 10 min").click()
    await expect(help_alert).to_contain_text("Snoozed")
    await teacher.reload()
    await expect(teacher.locator("#conn")).to_have_attribute("data-status", "live")
    await expect(help_alert).to_contain_text("asks for help")
    await expect(help_alert).to_contain_text("Snoozed")
    await help_alert.get_by_role("button", name="Acknowledge").click()
    await expect(help_alert).to_have_count(0)
    await teacher.reload()
    await expect(teacher.locator("#conn")).to_have_attribute("data-status", "live")
    await expect(teacher.locator("#alert-tray")).to_contain_text("No alerts")

    # a student's own "I'm confused" is named under a visible heading on the staff tiles
    await ada.locator("#confused").click()
    for page in (teacher, facilitator):
        tile = page.locator(f'#pulse .pulse-tile[data-site="{north_a}"]')
        await expect(tile.locator(".confused-head")).to_have_text("Pressed “I'm confused”:")
        await expect(tile.get_by_role("list", name="Pressed “I'm confused”:")).to_contain_text(
            web.demo.students[0].display_name
        )
    await shot(teacher, "teacher-confused-label")
