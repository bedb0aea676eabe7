"""From checked OneRoster rows to what the project stores (docs/roster.md has the mapping):

- an org of type ``school`` is a school, with one site (its room) made for it; other orgs
  (district, department...) are checked as references only;
- a user with a role of ours (from roles.csv: the primary role) is a user; guardians, parents,
  relatives and counsellors are left out;
- a class is a course of ours (a live offering with one teacher, from enrollments.csv), offered
  at its school's site and at the site of every enrolled student's school; courses.csv and
  academicSessions.csv are checked (references, dates) and give nothing stored;
- a student's enrollment is an enrolment, attending from their school's site.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from server.domain.oneroster.issues import Issue
from server.domain.oneroster.tables import Row, Table, parse_date
from server.domain.roles import Role
from server.domain.text import has_visible_text, trim_invisible

ROLE_MAP: Final[Mapping[str, Role]] = {
    "student": Role.STUDENT,
    "teacher": Role.TEACHER,
    "aide": Role.FACILITATOR,
    "proctor": Role.FACILITATOR,
    "administrator": Role.ADMIN,
    "siteAdministrator": Role.ADMIN,
    "districtAdministrator": Role.ADMIN,
    "systemAdministrator": Role.ADMIN,
    "principal": Role.ADMIN,
}
MAX_CODE: Final = 64
_EMAIL = re.compile(r"^[^@\s,;<>]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True, slots=True)
class PlannedSchool:
    sourced_id: str
    name: str
    line: int


@dataclass(frozen=True, slots=True)
class PlannedUser:
    sourced_id: str
    role: Role
    display_name: str
    email: str
    school: str | None  # the school org whose site is their home site
    active: bool
    password: str | None
    line: int


@dataclass(frozen=True, slots=True)
class PlannedCourse:
    sourced_id: str
    code: str
    title: str
    school: str
    teacher: str
    line: int


@dataclass(frozen=True, slots=True)
class PlannedEnrolment:
    sourced_id: str
    course: str
    student: str
    school: str | None
    line: int


@dataclass
class Plan:
    schools: list[PlannedSchool] = field(default_factory=list)
    users: list[PlannedUser] = field(default_factory=list)
    courses: list[PlannedCourse] = field(default_factory=list)
    enrolments: list[PlannedEnrolment] = field(default_factory=list)
    skipped_users: int = 0
    issues: list[Issue] = field(default_factory=list)

    def offered_at(self) -> dict[str, set[str]]:
        """Per class, the schools whose sites it is offered at."""
        sites = {c.sourced_id: {c.school} for c in self.courses}
        for e in self.enrolments:
            if e.school is not None:
                sites[e.course].add(e.school)
        return sites


def _needs(tables: Mapping[str, Table], issues: list[Issue]) -> None:
    given = set(tables)
    rules = [
        ("users.csv", "roles.csv"),
        ("roles.csv", "users.csv"),
        ("classes.csv", "courses.csv"),
        ("classes.csv", "academicSessions.csv"),
        ("classes.csv", "enrollments.csv"),
        ("enrollments.csv", "classes.csv"),
        ("enrollments.csv", "users.csv"),
    ]
    for having, needed in rules:
        if having in given and needed not in given:
            issues.append(Issue(having, 0, f"needs {needed} in the same import"))
    if "orgs.csv" not in given:
        issues.append(Issue("orgs.csv", 0, "orgs.csv is needed: everything refers to its orgs"))


def build_plan(tables: Mapping[str, Table]) -> Plan:
    """Resolve references across files and map the rows; every problem becomes an issue."""
    plan = Plan()
    _needs(tables, plan.issues)

    def rows(name: str) -> list[Row]:
        table = tables.get(name)
        return table.rows if table is not None else []

    def bad(row: Row, reason: str) -> None:
        plan.issues.append(Issue(row.file, row.line, reason))

    orgs = {r["sourcedId"]: r for r in rows("orgs.csv")}
    schools = {k for k, r in orgs.items() if r["type"] == "school"}
    sessions = {r["sourcedId"]: r for r in rows("academicSessions.csv")}
    courses = {r["sourcedId"]: r for r in rows("courses.csv")}
    names: dict[str, int] = {}
    for row in rows("orgs.csv"):
        if row["parentSourcedId"] and row["parentSourcedId"] not in orgs:
            bad(row, f"parentSourcedId {row['parentSourcedId']!r} is not in orgs.csv")
        if row["sourcedId"] not in schools:
            continue
        name = trim_invisible(row["name"])
        if len(row["sourcedId"]) > MAX_CODE:
            bad(row, f"a school's sourcedId is its code here: at most {MAX_CODE} characters")
        elif not has_visible_text(name) or len(name) > 200:
            bad(row, "name: 1-200 visible characters")
        elif name.lower() in names:
            bad(row, f"school name {name!r} repeats line {names[name.lower()]}")
        else:
            names[name.lower()] = row.line
            plan.schools.append(PlannedSchool(row["sourcedId"], name, row.line))
    for row in rows("academicSessions.csv"):
        start, end = parse_date(row["startDate"]), parse_date(row["endDate"])
        if start and end and end < start:
            bad(row, "endDate is before startDate")
        if row["parentSourcedId"] and row["parentSourcedId"] not in sessions:
            bad(row, f"parentSourcedId {row['parentSourcedId']!r} is not in academicSessions.csv")
    for row in rows("courses.csv"):
        if row["orgSourcedId"] not in orgs:
            bad(row, f"orgSourcedId {row['orgSourcedId']!r} is not in orgs.csv")
        year = row["schoolYearSourcedId"]
        if year and year not in sessions:
            bad(row, f"schoolYearSourcedId {year!r} is not in academicSessions.csv")
    users_table = tables.get("users.csv")
    known_users = users_table.seen_ids if users_table is not None else set()
    users = _plan_users(plan, rows("users.csv"), rows("roles.csv"), orgs, schools, known_users)
    _plan_classes(plan, rows("classes.csv"), rows("enrollments.csv"), users, courses, sessions)
    return plan


def _primary_roles(role_rows: list[Row], plan: Plan) -> dict[str, Row]:
    primary: dict[str, Row] = {}
    for row in role_rows:
        if row["roleType"] != "primary":
            continue
        user = row["userSourcedId"]
        if user in primary:
            plan.issues.append(
                Issue(
                    row.file,
                    row.line,
                    f"a second primary role for user {user!r} (line {primary[user].line})",
                )
            )
        else:
            primary[user] = row
    return primary


def _plan_users(
    plan: Plan,
    user_rows: list[Row],
    role_rows: list[Row],
    orgs: Mapping[str, Row],
    schools: set[str],
    known_users: set[str],
) -> dict[str, PlannedUser]:
    for row in role_rows:
        problems: list[str] = []
        if row["userSourcedId"] not in known_users:
            problems.append(f"userSourcedId {row['userSourcedId']!r} is not in users.csv")
        if row["orgSourcedId"] not in orgs:
            problems.append(f"orgSourcedId {row['orgSourcedId']!r} is not in orgs.csv")
        if problems:
            plan.issues.append(Issue(row.file, row.line, "; ".join(problems)))
    primary = _primary_roles(role_rows, plan)
    planned: dict[str, PlannedUser] = {}
    emails: dict[str, int] = {}
    for row in user_rows:
        problems = []
        role_row = primary.get(row["sourcedId"])
        if role_row is None:
            plan.issues.append(Issue(row.file, row.line, "no primary role in roles.csv"))
            continue
        role = ROLE_MAP.get(role_row["role"])
        if role is None:
            plan.skipped_users += 1
            continue
        given = row["preferredGivenName"] or row["givenName"]
        family = row["preferredFamilyName"] or row["familyName"]
        name = trim_invisible(f"{given} {family}")
        if not has_visible_text(name) or len(name) > 200:
            problems.append("givenName/familyName: a name of 1-200 characters is needed")
        email = row["email"].lower()
        if not email:
            problems.append("email is required here (people sign in by e-mail)")
        elif len(email) > 254 or not _EMAIL.match(email):
            problems.append(f"email {email!r} is not a valid address")
        elif email in emails:
            problems.append(f"email {email} repeats line {emails[email]}")
        primary_org = row["primaryOrgSourcedId"]
        if primary_org and primary_org not in orgs:
            problems.append(f"primaryOrgSourcedId {primary_org!r} is not in orgs.csv")
        role_org = role_row["orgSourcedId"]
        school = next((o for o in (primary_org, role_org) if o in schools), None)
        if role == Role.FACILITATOR and role_org not in schools:
            problems.append(f"an {role_row['role']} needs a school as their role's orgSourcedId")
        if role == Role.FACILITATOR:
            school = role_org
        if role == Role.TEACHER or role == Role.ADMIN:
            school = None
        password = row["password"] or None
        if role == Role.STUDENT:
            password = None  # students sign in with join links
        elif password is not None and len(password) < 10:
            problems.append("password: at least 10 characters (or leave it empty)")
        if problems:
            plan.issues.append(Issue(row.file, row.line, "; ".join(problems)))
            continue
        emails[email] = row.line
        user = PlannedUser(
            sourced_id=row["sourcedId"],
            role=role,
            display_name=name,
            email=email,
            school=school,
            active=row["enabledUser"] == "true",
            password=password,
            line=row.line,
        )
        planned[user.sourced_id] = user
        plan.users.append(user)
    return planned


def _plan_classes(
    plan: Plan,
    class_rows: list[Row],
    enrollment_rows: list[Row],
    users: Mapping[str, PlannedUser],
    courses: Mapping[str, Row],
    sessions: Mapping[str, Row],
) -> None:
    school_ids = {s.sourced_id for s in plan.schools}
    classes = {r["sourcedId"]: r for r in class_rows}
    teachers: dict[str, Row] = {}
    pairs: dict[tuple[str, str], int] = {}
    for row in enrollment_rows:
        problems: list[str] = []
        cls, user_id = row["classSourcedId"], row["userSourcedId"]
        if cls not in classes:
            problems.append(f"classSourcedId {cls!r} is not in classes.csv")
        if row["schoolSourcedId"] not in school_ids:
            problems.append(
                f"schoolSourcedId {row['schoolSourcedId']!r} is not a school in orgs.csv"
            )
        user = users.get(user_id)
        if user is None:
            problems.append(f"userSourcedId {user_id!r} is not an imported user in users.csv")
        elif row["role"] == "student" and user.role != Role.STUDENT:
            problems.append(f"user {user_id!r} is a {user.role.value}, not a student")
        elif row["role"] == "teacher" and user.role != Role.TEACHER:
            problems.append(f"user {user_id!r} is a {user.role.value}, not a teacher")
        begin, end = parse_date(row["beginDate"]), parse_date(row["endDate"])
        if begin and end and end < begin:
            problems.append("endDate is before beginDate")
        if (cls, user_id) in pairs:
            problems.append(
                f"user {user_id!r} is already in class {cls!r} (line {pairs[cls, user_id]})"
            )
        if problems:
            plan.issues.append(Issue(row.file, row.line, "; ".join(problems)))
            continue
        pairs[cls, user_id] = row.line
        if row["role"] == "teacher":
            current = teachers.get(cls)
            if current is None or (row["primary"] == "true" and current["primary"] != "true"):
                teachers[cls] = row
            elif row["primary"] == "true":
                plan.issues.append(
                    Issue(
                        row.file,
                        row.line,
                        f"a second primary teacher for class {cls!r} "
                        f"(line {current.line}); a course here has one teacher",
                    )
                )
        elif row["role"] == "student" and user is not None:
            plan.enrolments.append(
                PlannedEnrolment(row["sourcedId"], cls, user_id, user.school, row.line)
            )
    codes: dict[str, int] = {}
    for row in class_rows:
        problems = []
        if row["courseSourcedId"] not in courses:
            problems.append(f"courseSourcedId {row['courseSourcedId']!r} is not in courses.csv")
        if row["schoolSourcedId"] not in school_ids:
            problems.append(
                f"schoolSourcedId {row['schoolSourcedId']!r} is not a school in orgs.csv"
            )
        unknown = [t for t in row.ids("termSourcedIds") if t not in sessions]
        if unknown:
            problems.append(f"termSourcedIds {', '.join(unknown)} not in academicSessions.csv")
        code = row["classCode"] or row["sourcedId"]
        title = trim_invisible(row["title"])
        if len(code) > MAX_CODE:
            problems.append(f"classCode (or sourcedId) is the course code here: at most {MAX_CODE}")
        elif code.lower() in codes:
            problems.append(f"course code {code!r} repeats line {codes[code.lower()]}")
        if not has_visible_text(title) or len(title) > 200:
            problems.append("title: 1-200 visible characters")
        teacher = teachers.get(row["sourcedId"])
        if teacher is None:
            problems.append("no teacher for this class in enrollments.csv (a course has a teacher)")
        if problems:
            plan.issues.append(Issue(row.file, row.line, "; ".join(problems)))
            continue
        assert teacher is not None
        codes[code.lower()] = row.line
        plan.courses.append(
            PlannedCourse(
                row["sourcedId"],
                code,
                title,
                row["schoolSourcedId"],
                teacher["userSourcedId"],
                row.line,
            )
        )
    planned = {c.sourced_id for c in plan.courses}
    plan.enrolments = [e for e in plan.enrolments if e.course in planned]
