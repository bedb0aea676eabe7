"""Join-link sheets per site, and links that keep working for catch-up after the lesson for
HYFLEX_CATCHUP_DAYS (not the 24 hours of HYFLEX_JOIN_LINK_HOURS alone)."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from server.db.models import LiveSession
from tests.api.world import World, build_world


async def _world(app_and_client: Any) -> World:
    app, client = app_and_client
    return await build_world(app, client)


def _exp(url: str) -> int:
    token = url.split("#", 1)[1]
    return int(jwt.decode(token, options={"verify_signature": False})["exp"])


async def test_a_facilitator_gets_only_their_sites_sheet(app_and_client: Any) -> None:
    world = await _world(app_and_client)
    url = f"/api/sessions/{world.ids['session']}/join-sheet"
    everyone = (await world.call("teacher", "GET", url)).json()
    names = [s["site_name"] for s in everyone["sites"]]
    assert (len(names) >= 2 and names[-1] == "At home") or "At home" not in names
    total = sum(len(s["students"]) for s in everyone["sites"])
    mine = (await world.call("fac", "GET", url)).json()
    assert [s["site_id"] for s in mine["sites"]] == [world.ids["site"]]
    students = mine["sites"][0]["students"]
    assert 0 < len(students) < total
    assert all(s["qr_svg"].startswith("data:image/svg+xml") for s in students)
    assert all(s["url"].startswith("http") and "/join#" in s["url"] for s in students)
    other = [
        s["site_id"] for s in everyone["sites"] if s["site_id"] not in (None, world.ids["site"])
    ]
    resp = await world.call("fac", "GET", f"{url}?site_id={other[0]}")
    assert resp.status_code == 404
    one = (await world.call("teacher", "GET", f"{url}?site_id={other[0]}")).json()
    assert [s["site_id"] for s in one["sites"]] == [other[0]]
    resp = await world.call("fac", "GET", f"{url}.csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["student"] for r in rows] == [s["display_name"] for s in students]
    assert {r["site"] for r in rows} == {mine["sites"][0]["site_name"]}
    # a link of the sheet signs the student in
    joined = await world.client.post(
        "/api/auth/join", json={"token": students[0]["url"].split("#")[1]}
    )
    assert joined.status_code == 200


async def test_links_cover_the_lesson_and_the_catch_up_window(app_and_client: Any) -> None:
    world = await _world(app_and_client)
    svc = world.app.state.services
    later = datetime.now(UTC) + timedelta(days=3)
    async with svc.sessions() as db:
        lesson = LiveSession(course_id=world.ids["course"], title="Next week", scheduled_at=later)
        db.add(lesson)
        await db.commit()
        lesson_id = lesson.id
    links = (await world.call("teacher", "POST", f"/api/sessions/{lesson_id}/join-links")).json()
    window = timedelta(hours=svc.settings.join_link_hours, days=svc.settings.catchup_days)
    assert _exp(links[0]["url"]) == int((later + window).timestamp())
    now_links = (
        await world.call("teacher", "POST", f"/api/sessions/{world.ids['session']}/join-links")
    ).json()
    assert _exp(now_links[0]["url"]) >= time.time() + window.total_seconds() - 5


async def test_catch_up_join_is_refused_past_the_end_plus_the_window(app_and_client: Any) -> None:
    world = await _world(app_and_client)
    svc = world.app.state.services
    session = world.ids["session"]
    assert (await world.call("teacher", "POST", f"/api/sessions/{session}/end")).status_code == 200
    link = await world.join_link(world.ids["student"], session)
    days = svc.settings.catchup_days
    for ago, status in ((days - 1, 200), (days + 1, 401)):
        async with svc.sessions() as db:
            row = await db.get(LiveSession, session)
            assert row is not None
            row.ended_at = datetime.now(UTC) - timedelta(days=ago)
            db.add(row)
            await db.commit()
        resp = await world.client.post("/api/auth/join", json={"token": link})
        assert resp.status_code == status, resp.text
    assert "catch-up for this lesson closed" in resp.json()["error"]["message"]
    # links handed out after that say so at once: they expire with the window
    links = (await world.call("teacher", "POST", f"/api/sessions/{session}/join-links")).json()
    assert _exp(links[0]["url"]) <= time.time() + 1
