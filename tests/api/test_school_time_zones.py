"""Schools carry an IANA time zone: validated against the zone database, changed by admins,
given to the demo's schools, and used to read a lesson's wall-clock start time."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.world import build_world


async def test_school_is_created_with_its_zone_and_a_bad_zone_is_refused(
    app_and_client: Any,
) -> None:
    world = await build_world(*app_and_client)
    made = await world.call(
        "admin",
        "POST",
        "/api/schools",
        json={"name": "Lakeside", "code": "lake", "timezone": "Europe/Berlin"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["timezone"] == "Europe/Berlin"
    plain = await world.call("admin", "POST", "/api/schools", json={"name": "P", "code": "p"})
    assert plain.json()["timezone"] == "UTC"
    for zone in ("Mars/Olympus", "../../etc/passwd", "", "europe/london"):
        bad = await world.call(
            "admin", "POST", "/api/schools", json={"name": "X", "code": "x", "timezone": zone}
        )
        assert bad.status_code == 422, (zone, bad.text)
        [problem] = bad.json()["detail"]
        assert problem["loc"][-1] == "timezone"
        if zone:
            assert "is not a time zone name" in problem["msg"]


async def test_admin_changes_a_schools_zone(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    school_id = world.demo.sites[0].school_id
    url = f"/api/schools/{school_id}"
    changed = await world.call("admin", "PATCH", url, json={"timezone": "Asia/Kolkata"})
    assert changed.status_code == 200, changed.text
    assert (await world.call("teacher", "GET", url)).json()["timezone"] == "Asia/Kolkata"
    bad = await world.call("admin", "PATCH", url, json={"timezone": "Nowhere/Town"})
    assert bad.status_code == 422
    other = world.demo.sites[-1].school_id
    clash_name = (await world.call("admin", "GET", f"/api/schools/{other}")).json()["name"]
    clash = await world.call("admin", "PATCH", url, json={"name": clash_name})
    assert clash.status_code == 409
    assert clash_name in clash.json()["error"]["message"]
    missing = await world.call("admin", "PATCH", "/api/schools/999999", json={"name": "Q"})
    assert missing.status_code == 404


async def test_demo_schools_have_zones(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    schools = (await world.call("admin", "GET", "/api/schools")).json()
    assert {s["code"]: s["timezone"] for s in schools} == {
        "north": "America/Chicago",
        "river": "America/Chicago",
        "hill": "America/Denver",
    }


@pytest.mark.parametrize(
    ("scheduled_at", "zone", "stored"),
    [
        ("2026-12-03T09:30", "America/Chicago", "2026-12-03T15:30:00Z"),  # CST, UTC-6
        ("2026-07-03T09:30", "America/Chicago", "2026-07-03T14:30:00Z"),  # CDT, UTC-5
        ("2026-12-03T09:30", None, "2026-12-03T09:30:00Z"),  # no zone: UTC
        ("2026-12-03T09:30+01:00", "America/Chicago", "2026-12-03T08:30:00Z"),  # offset wins
    ],
)
async def test_a_lessons_wall_clock_start_is_read_in_the_given_zone(
    app_and_client: Any, scheduled_at: str, zone: str | None, stored: str
) -> None:
    world = await build_world(*app_and_client)
    body: dict[str, Any] = {
        "course_id": world.ids["course"],
        "title": "Waves",
        "scheduled_at": scheduled_at,
    }
    if zone:
        body["timezone"] = zone
    made = await world.call("teacher", "POST", "/api/sessions", json=body)
    assert made.status_code == 201, made.text
    got = (await world.call("teacher", "GET", f"/api/sessions/{made.json()['id']}")).json()
    assert got["scheduled_at"].replace("+00:00", "Z") == stored


async def test_a_lesson_with_a_bad_zone_is_refused(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    bad = await world.call(
        "teacher",
        "POST",
        "/api/sessions",
        json={
            "course_id": world.ids["course"],
            "title": "Waves",
            "scheduled_at": "2026-12-03T09:30",
            "timezone": "Moon/Base",
        },
    )
    assert bad.status_code == 422
    assert "is not a time zone name" in bad.json()["detail"][0]["msg"]
