"""OneRoster 1.2 CSV bulk import: sample files import; every bad row reported with its file, line
and reason; re-import updates in place; dry run writes nothing; hostile zips refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from server.db.models import Course, CourseSite, Enrolment, School, Site, User
from server.domain.oneroster.bundle import BundleLimits, read_zip
from tests.api.world import World, build_world

SAMPLES = Path(__file__).parent / "oneroster_samples"


def _samples() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(SAMPLES.glob("*.csv"))}


def _zip(files: dict[str, str | bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


async def _post(world: World, files: list[tuple[str, bytes]], dry_run: bool = False) -> Any:
    resp = await world.call(
        "admin",
        "POST",
        f"/api/roster/oneroster?dry_run={str(dry_run).lower()}",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _count(world: World, model: Any) -> int:
    async with world.app.state.services.sessions() as db:
        return int((await db.exec(select(func.count()).select_from(model))).one())


async def _counts(world: World) -> tuple[int, ...]:
    return tuple([await _count(world, m) for m in (School, Site, User, Course, Enrolment)])


async def test_sample_files_import_as_a_zip(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    report = await _post(world, [("roster.zip", _zip(dict(_samples())))])
    assert report["errors"] == [] and report["imported"] is True
    assert (report["schools_created"], report["sites_created"]) == (2, 2)
    assert (report["users_created"], report["users_skipped"]) == (5, 1)  # the guardian
    assert (report["courses_created"], report["enrolments_created"]) == (1, 3)
    async with world.app.state.services.sessions() as db:
        hill = (
            await db.exec(select(School).where(col(School.sourced_id) == "org-school-hill"))
        ).one()
        course = (await db.exec(select(Course).where(col(Course.code) == "PHY-ADV-1"))).one()
        teacher = await db.get(User, course.teacher_id)
        aide = (await db.exec(select(User).where(col(User.sourced_id) == "usr-a-1"))).one()
        alan = (await db.exec(select(User).where(col(User.sourced_id) == "usr-s-2"))).one()
        offered = {
            cs.site_id
            for cs in await db.exec(
                select(CourseSite).where(col(CourseSite.course_id) == course.id)
            )
        }
        enrolments = list(
            await db.exec(select(Enrolment).where(col(Enrolment.course_id) == course.id))
        )
    assert hill.name == "Hill High School"
    assert course.title == "Advanced Physics (shared)" and course.sourced_id == "cls-phy-adv-1"
    assert teacher is not None and teacher.email == "m.curie@hill.example.org"
    assert aide.role.value == "facilitator" and aide.home_site_id in offered
    assert alan.display_name == "Al Turing" and alan.home_site_id in offered
    assert len(offered) == 2  # the class's school and the remote school of two of its students
    assert {e.sourced_id for e in enrolments} == {"enr-s-1", "enr-s-2", "enr-s-3"}
    assert {e.site_id for e in enrolments} == offered


async def test_dry_run_counts_and_writes_nothing(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    before = await _counts(world)
    files = [(n, t.encode()) for n, t in _samples().items()]
    report = await _post(world, files, dry_run=True)
    assert report["errors"] == [] and report["imported"] is False and report["dry_run"] is True
    assert (report["users_created"], report["enrolments_created"]) == (5, 3)
    assert await _counts(world) == before


async def test_second_import_of_changed_files_updates_in_place(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    files = _samples()
    await _post(world, [(n, t.encode()) for n, t in files.items()])
    after_first = await _counts(world)
    files["users.csv"] = files["users.csv"].replace(",Ada,Lovelace,", ",Augusta Ada,Lovelace,")
    files["classes.csv"] = files["classes.csv"].replace("(shared)", "(shared, term 1)")
    files["orgs.csv"] = files["orgs.csv"].replace("Lake Academy", "Lake Academy North")
    files["enrollments.csv"] = "\n".join(
        line for line in files["enrollments.csv"].splitlines() if "enr-s-3" not in line
    )
    report = await _post(world, [(n, t.encode()) for n, t in files.items()])
    assert report["errors"] == [] and report["imported"] is True
    assert (report["schools_created"], report["schools_updated"]) == (0, 2)
    assert (report["users_created"], report["users_updated"]) == (0, 5)
    assert (report["courses_created"], report["courses_updated"]) == (0, 1)
    assert (report["enrolments_created"], report["enrolments_updated"]) == (0, 2)
    assert report["enrolments_removed"] == 1
    schools, sites, users, courses, enrolments = await _counts(world)
    assert (schools, sites, users, courses) == after_first[:4]
    assert enrolments == after_first[4] - 1
    async with world.app.state.services.sessions() as db:
        ada = (await db.exec(select(User).where(col(User.sourced_id) == "usr-s-1"))).one()
        lake = (
            await db.exec(select(School).where(col(School.sourced_id) == "org-school-lake"))
        ).one()
        course = (
            await db.exec(select(Course).where(col(Course.sourced_id) == "cls-phy-adv-1"))
        ).one()
    assert ada.display_name == "Augusta Ada Lovelace"
    assert lake.name == "Lake Academy North"
    assert course.title == "Advanced Physics (shared, term 1)"


async def test_every_kind_of_bad_row_is_reported(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    before = await _counts(world)
    files = _samples()
    files["orgs.csv"] += "org-school-hill,,,Hill Again,school,,\n"  # line 5: duplicate sourcedId
    files["orgs.csv"] += "org-x,,,X,galaxy,,\n"  # line 6: bad enum
    files["academicSessions.csv"] += "as-bad,,,Bad,term,2026-13-01,2026-12-01,,2027\n"  # 4: date
    files["users.csv"] += "usr-s-4,,,true,,,,Nobody,,,n@lake.example.org,,,,,,,,,,,,\n"  # 8
    files["roles.csv"] += "rl-s-4,,,usr-s-4,primary,student,,,org-nowhere,\n"  # 8: reference
    files["enrollments.csv"] += "enr-s-9,,,cls-nope,org-school-hill,usr-s-1,student,,,\n"  # 6
    report = await _post(world, [(n, t.encode()) for n, t in files.items()])
    assert report["imported"] is False
    found = {(e["file"], e["line"]): e["reason"] for e in report["errors"]}
    assert "repeats line 3" in found["orgs.csv", 5]
    assert "type 'galaxy' is not one of" in found["orgs.csv", 6]
    assert "startDate '2026-13-01' is not a date" in found["academicSessions.csv", 4]
    assert "givenName is required" in found["users.csv", 8]
    assert "orgSourcedId 'org-nowhere' is not in orgs.csv" in found["roles.csv", 8]
    assert "classSourcedId 'cls-nope' is not in classes.csv" in found["enrollments.csv", 6]
    assert await _counts(world) == before

    files = _samples()
    files["classes.csv"] = files["classes.csv"].replace("classType,", "classtype,", 1)
    report = await _post(world, [(n, t.encode()) for n, t in files.items()])
    header = [e for e in report["errors"] if e["file"] == "classes.csv"]
    assert header and header[0]["line"] == 1 and "wrong header" in header[0]["reason"]
    assert "missing column(s) classType" in header[0]["reason"]
    assert await _counts(world) == before


async def test_manifest_and_database_conflicts(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    files = _samples()
    del files["manifest.csv"]
    report = await _post(world, [(n, t.encode()) for n, t in files.items()])
    assert any(e["file"] == "manifest.csv" for e in report["errors"])
    files = _samples()
    files["manifest.csv"] = files["manifest.csv"].replace("file.users,bulk", "file.users,delta")
    report = await _post(world, [(n, t.encode()) for n, t in files.items()])
    assert any("delta" in e["reason"] for e in report["errors"])
    files = _samples()
    files["users.csv"] = files["users.csv"].replace("ada@hill.example.org", "teacher@demo.hyflex")
    report = await _post(world, [(n, t.encode()) for n, t in files.items()])
    assert report["imported"] is False
    assert [(e["file"], e["line"]) for e in report["errors"]] == [("users.csv", 4)]
    assert "roles never change" in report["errors"][0]["reason"]


async def test_hostile_zips_are_refused(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    before = await _counts(world)
    many = _zip({f"extra{i}.csv": "a\n" for i in range(40)})
    report = await _post(world, [("many.zip", many)])
    assert any("at most 24" in e["reason"] for e in report["errors"])
    bomb = _zip({"orgs.csv": b"\0" * (65 * 1024 * 1024)})
    assert len(bomb) < 200_000
    report = await _post(world, [("bomb.zip", bomb)])
    assert any("inflates to more than" in e["reason"] for e in report["errors"])
    sneaky = _zip({"../orgs.csv": "x", "sub/users.csv": "y"})
    report = await _post(world, [("sneaky.zip", sneaky)])
    assert len([e for e in report["errors"] if "top of the zip" in e["reason"]]) == 2
    report = await _post(world, [("junk.zip", b"PK\x03\x04 not really a zip")])
    assert any("not a readable zip" in e["reason"] for e in report["errors"])
    assert await _counts(world) == before


def test_a_zip_that_lies_about_its_sizes_stops_while_inflating() -> None:
    """The directory says small; the limit is enforced on the bytes actually inflated."""
    data = bytearray(_zip({"orgs.csv": b"a" * 50_000}))
    limits = BundleLimits(max_file_bytes=10_000, max_total_bytes=1_000_000)
    bundle = read_zip(bytes(data), limits)
    assert "larger than 10000" in bundle.issues[0].reason
    # Patch the declared sizes (local header and central directory) down to 100 bytes.
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = (100).to_bytes(4, "little")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    bundle = read_zip(bytes(data), limits)
    assert bundle.files == {}
    assert bundle.issues and (
        "inflates past" in bundle.issues[0].reason or "cannot be read" in bundle.issues[0].reason
    )


async def test_only_admins_import(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    resp = await world.call(
        "teacher",
        "POST",
        "/api/roster/oneroster",
        files=[("files", ("roster.zip", _zip(dict(_samples())), "application/zip"))],
    )
    assert resp.status_code == 403
