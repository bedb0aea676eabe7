"""OneRoster rows checked and mapped without a database: each rule's problem with its file and
line (the API tests import the sample files on both databases)."""

from __future__ import annotations

from pathlib import Path

from server.domain.oneroster.bundle import Bundle
from server.domain.oneroster.plan import Plan
from server.domain.oneroster.reading import plan_import
from server.domain.roles import Role

SAMPLES = Path(__file__).parent.parent / "api" / "oneroster_samples"


def _files() -> dict[str, str]:
    return {p.name: p.read_text() for p in SAMPLES.glob("*.csv")}


def _plan(files: dict[str, str]) -> tuple[dict[tuple[str, int], str], Plan]:
    plan = plan_import(Bundle(files={k: v.encode() for k, v in files.items()}), max_rows=100)
    return {(i.file, i.line): i.reason for i in plan.issues}, plan


def test_the_samples_map_onto_schools_people_courses_and_enrolments() -> None:
    issues, plan = _plan(_files())
    assert issues == {}
    assert [s.name for s in plan.schools] == ["Hill High School", "Lake Academy"]
    roles = {u.sourced_id: u.role for u in plan.users}
    assert roles["usr-a-1"] == Role.FACILITATOR and roles["usr-t-1"] == Role.TEACHER
    assert "usr-g-1" not in roles and plan.skipped_users == 1
    (course,) = plan.courses
    assert (course.code, course.teacher, course.school) == (
        "PHY-ADV-1",
        "usr-t-1",
        "org-school-hill",
    )
    assert plan.offered_at() == {"cls-phy-adv-1": {"org-school-hill", "org-school-lake"}}


def test_each_rule_reports_its_row() -> None:
    files = _files()
    files["users.csv"] += "usr-s-9,tobedeleted,,maybe,,,Z,Y,,,z@hill.example.org,,,,,,,,,,,,\n"  # 8
    files["roles.csv"] += "rl-s-9,,,usr-s-9,primary,student,,,org-school-hill,\n"
    files["academicSessions.csv"] += "as-x,,,X,term,2026-12-01,2026-01-01,,2027\n"  # 4
    files["enrollments.csv"] += (
        "enr-t-2,,,cls-phy-adv-1,org-school-hill,usr-a-1,teacher,true,,\n"  # 6: not a teacher
        "enr-s-1b,,,cls-phy-adv-1,org-school-hill,usr-s-1,student,,,\n"  # 7: already in class
    )
    files["classes.csv"] += (
        "cls-2,,,Lonely,,crs-physics-adv,,homeroom,,org-school-lake,as-2027-t1,,,\n"
    )
    files["manifest.csv"] = files["manifest.csv"].replace(
        "oneroster.version,1.2", "oneroster.version,1.1"
    )
    issues = _plan(files)[0]
    assert "status 'tobedeleted'" in issues["users.csv", 8]
    assert "enabledUser 'maybe' must be true or false" in issues["users.csv", 8]
    assert "endDate is before startDate" in issues["academicSessions.csv", 4]
    assert "is a facilitator, not a teacher" in issues["enrollments.csv", 6]
    assert "already in class" in issues["enrollments.csv", 7]
    assert "no teacher for this class" in issues["classes.csv", 3]
    assert "1.2 expected" in issues["manifest.csv", 3]


def test_files_that_need_each_other() -> None:
    files = _files()
    del files["roles.csv"], files["courses.csv"]
    issues = _plan(files)[0]
    assert "needs roles.csv" in issues["users.csv", 0]
    assert "needs courses.csv" in issues["classes.csv", 0]
    assert "roles.csv was not given" in issues["manifest.csv", 20]
