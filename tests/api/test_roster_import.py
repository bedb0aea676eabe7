"""Roster import: every bad row reported with its line and reason; all or nothing."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select

from server.db.models import Enrolment, User
from tests.api.world import World, build_world

HEADER = "sourcedId,role,givenName,familyName,email,orgSourcedIds,classSourcedIds,password\n"


async def _import(world: World, text: str | bytes, dry_run: bool = False) -> Any:
    data = text.encode() if isinstance(text, str) else text
    resp = await world.call(
        "admin",
        "POST",
        f"/api/roster/import?dry_run={str(dry_run).lower()}",
        files={"file": ("users.csv", data, "text/csv")},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _count_users(world: World) -> int:
    async with world.app.state.services.sessions() as db:
        return int((await db.exec(select(func.count()).select_from(User))).one())


async def test_bad_rows_reported_and_nothing_imported(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    before = await _count_users(world)
    csv = HEADER + (
        "s-1,student,Ann,Lee,ann@school.org,north-a,PHYS-ADV,\n"  # line 2: fine
        "s-2,wizard,Bo,Ng,bo@school.org,north-a,,\n"  # 3: role
        "s-3,student,Cy,Oh,not-an-email,north-a,,\n"  # 4: email
        "s-1,student,Di,Pe,di@school.org,,,\n"  # 5: repeated id
        "s-5,student,Ed,Qu,ed@school.org,nowhere,,\n"  # 6: unknown site
        "s-6,aide,Fa,Ru,fa@school.org,,,long-enough-pw\n"  # 7: facilitator without site
        "s-7,student,Gi,Sa,gi@school.org,,NOPE-101,\n"  # 8: unknown course
        "s-8,student,Ha,Tu,ANN@school.org,,,\n"  # 9: repeated email (case-insensitive)
        "s-9,teacher,Io,Vu,io@school.org,,,short\n"  # 10: short password
        "s-10,student,\u200b,\u3164,jo@school.org,,,\n"  # 11: a name with nothing visible
    )
    report = await _import(world, csv)
    assert report["imported"] is False
    lines = {e["line"]: e["reason"] for e in report["errors"]}
    assert sorted(lines) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "unknown role" in lines[3]
    assert "not a valid address" in lines[4]
    assert "repeats line 2" in lines[5]
    assert "unknown site code" in lines[6] and "nowhere" in lines[6]
    assert "facilitator needs their site" in lines[7]
    assert "NOPE-101" in lines[8]
    assert "repeats line 2" in lines[9]
    assert "at least 10" in lines[10]
    assert "givenName/familyName" in lines[11]
    assert await _count_users(world) == before


async def test_database_conflicts_are_reported(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    before = await _count_users(world)
    csv = HEADER + (
        "t-1,student,Tea,Cher,teacher@demo.hyflex,,,\n"  # e-mail of the demo teacher
        "s-2,student,Ok,Row,okrow@school.org,north-z,PHYS-ADV,\n"  # course not offered there
    )
    report = await _import(world, csv)
    assert report["imported"] is False
    reasons = " | ".join(e["reason"] for e in report["errors"])
    assert "teacher@demo.hyflex" in reasons and "not offered at site north-z" in reasons
    assert await _count_users(world) == before


async def test_good_file_imports_then_reimport_updates(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    before = await _count_users(world)
    csv = HEADER + (
        "s-1,student,Ann,Lee,ann@school.org,north-a,PHYS-ADV,\n"
        "s-2,student,Bo,Ng,bo@school.org,,PHYS-ADV,\n"
        "f-1,aide,Cy,Oh,cy@school.org,north-b,,long-enough-pw\n"
    )
    dry = await _import(world, csv, dry_run=True)
    assert dry["imported"] is False and dry["errors"] == [] and dry["rows"] == 3
    assert await _count_users(world) == before
    report = await _import(world, csv)
    assert report["imported"] is True
    assert (report["users_created"], report["users_updated"], report["enrolments"]) == (3, 0, 2)
    assert await _count_users(world) == before + 3
    login = await world.client.post(
        "/api/auth/login", json={"email": "cy@school.org", "password": "long-enough-pw"}
    )
    assert login.status_code == 200 and login.json()["user"]["role"] == "facilitator"
    again = await _import(
        world, csv.replace("Ann,Lee", "Anne,Lee").replace(",north-a,", ",north-b,")
    )
    assert (again["users_created"], again["users_updated"]) == (0, 3)
    async with world.app.state.services.sessions() as db:
        ann = (await db.exec(select(User).where(col(User.sourced_id) == "s-1"))).one()
        enrolment = (
            await db.exec(select(Enrolment).where(col(Enrolment.student_id) == ann.id))
        ).one()
    assert ann.display_name == "Anne Lee"
    assert enrolment.site_id == ann.home_site_id and ann.home_site_id is not None


async def test_structural_problems(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    report = await _import(world, "name,email\nA,a@b.org\n")
    assert report["errors"][0]["line"] == 1 and "missing column" in report["errors"][0]["reason"]
    report = await _import(world, b"\xff\xfe\x00garbage")
    assert "not UTF-8" in report["errors"][0]["reason"]
    report = await _import(world, HEADER)
    assert "no rows" in report["errors"][0]["reason"]
    report = await _import(world, HEADER + "s-1,student,A,B,a@b.org,,,,extra,fields\n")
    assert "more fields" in report["errors"][0]["reason"]


async def test_imported_staff_get_a_password_from_an_admin(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    report = await _import(world, HEADER + "f-9,aide,No,Pass,nopass@school.org,north-b,,\n")
    assert report["imported"] is True
    async with world.app.state.services.sessions() as db:
        user = (await db.exec(select(User).where(col(User.email) == "nopass@school.org"))).one()
    login = {"email": "nopass@school.org", "password": "chosen-by-admin"}
    assert (await world.client.post("/api/auth/login", json=login)).status_code == 401
    path = f"/api/users/{user.id}/password"
    short = await world.call("admin", "PUT", path, json={"password": "short"})
    assert short.status_code == 422
    done = await world.call("admin", "PUT", path, json={"password": "chosen-by-admin"})
    assert done.status_code == 204
    assert (await world.client.post("/api/auth/login", json=login)).status_code == 200
    student = await world.call(
        "admin",
        "PUT",
        f"/api/users/{world.ids['student']}/password",
        json={"password": "long-enough-pw"},
    )
    assert student.status_code == 422 and "join links" in student.text
