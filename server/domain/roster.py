"""Roster rows (OneRoster-style users.csv): parsing and validation, pure.

Columns (header names as in OneRoster; others are ignored):
``sourcedId, role, givenName, familyName, email, orgSourcedIds`` and optionally
``classSourcedIds`` (course codes a student is enrolled in) and ``password`` (staff only).
``orgSourcedIds`` holds the site code (a facilitator's site; a student's room; empty for a
student at home).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from server.domain.roles import Role
from server.domain.text import has_visible_text, trim_invisible

REQUIRED_COLUMNS = ("sourcedId", "role", "givenName", "familyName", "email", "orgSourcedIds")
ROLE_NAMES: Mapping[str, Role] = {
    "student": Role.STUDENT,
    "teacher": Role.TEACHER,
    "aide": Role.FACILITATOR,
    "facilitator": Role.FACILITATOR,
    "administrator": Role.ADMIN,
}
_EMAIL = re.compile(r"^[^@\s,;<>]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SOURCED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True, slots=True)
class RosterRow:
    line: int
    sourced_id: str
    role: Role
    display_name: str
    email: str
    site_code: str | None
    course_codes: tuple[str, ...]
    password: str | None


@dataclass(frozen=True, slots=True)
class RosterIssue:
    line: int
    reason: str


@dataclass
class RosterParse:
    rows: list[RosterRow] = field(default_factory=list)
    issues: list[RosterIssue] = field(default_factory=list)


def _split_codes(value: str) -> tuple[str, ...]:
    return tuple(code.strip() for code in re.split(r"[;,]", value) if code.strip())


def parse_roster(
    data: bytes,
    *,
    max_rows: int,
    site_codes: frozenset[str],
    course_codes: frozenset[str],
) -> RosterParse:
    """Check every row and report each problem with its line; a valid file yields rows."""
    result = RosterParse()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.issues.append(RosterIssue(1, f"the file is not UTF-8 text ({exc.reason})"))
        return result
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="_extra")
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        result.issues.append(RosterIssue(1, f"missing column(s): {', '.join(missing)}"))
        return result
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    try:
        for index, raw in enumerate(reader):
            line = reader.line_num
            if index >= max_rows:
                result.issues.append(RosterIssue(line, f"more than {max_rows} rows"))
                break
            _check_row(raw, line, site_codes, course_codes, seen_ids, seen_emails, result)
    except csv.Error as exc:
        result.issues.append(RosterIssue(reader.line_num, f"malformed CSV: {exc}"))
    if not result.rows and not result.issues:
        result.issues.append(RosterIssue(1, "the file has a header but no rows"))
    return result


def _check_row(
    raw: dict[str, str | None],
    line: int,
    site_codes: frozenset[str],
    course_codes: frozenset[str],
    seen_ids: dict[str, int],
    seen_emails: dict[str, int],
    result: RosterParse,
) -> None:
    problems: list[str] = []
    if raw.get("_extra"):
        problems.append("more fields than the header has")

    def get(name: str) -> str:
        value = raw.get(name)
        return value.strip() if isinstance(value, str) else ""

    sourced_id = get("sourcedId")
    if not _SOURCED_ID.match(sourced_id):
        problems.append("sourcedId must be 1-128 letters, digits or ._:-")
    elif sourced_id in seen_ids:
        problems.append(f"sourcedId {sourced_id!r} repeats line {seen_ids[sourced_id]}")
    role = ROLE_NAMES.get(get("role").lower())
    if role is None:
        problems.append(f"unknown role {get('role')!r} (use one of: {', '.join(ROLE_NAMES)})")
    name = trim_invisible(" ".join(p for p in (get("givenName"), get("familyName")) if p))
    if not has_visible_text(name) or len(name) > 200:
        problems.append("givenName/familyName: a name of 1-200 characters is needed")
    email = get("email").lower()
    if len(email) > 254 or not _EMAIL.match(email):
        problems.append(f"email {email!r} is not a valid address")
    elif email in seen_emails:
        problems.append(f"email {email} repeats line {seen_emails[email]}")
    sites = _split_codes(get("orgSourcedIds"))
    unknown_sites = [s for s in sites if s not in site_codes]
    if unknown_sites:
        problems.append(f"unknown site code(s): {', '.join(unknown_sites)}")
    if len(sites) > 1:
        problems.append("orgSourcedIds: give at most one site")
    if role == Role.FACILITATOR and not sites:
        problems.append("a facilitator needs their site in orgSourcedIds")
    courses = _split_codes(get("classSourcedIds"))
    unknown_courses = [c for c in courses if c not in course_codes]
    if unknown_courses:
        problems.append(f"unknown course code(s): {', '.join(unknown_courses)}")
    if courses and role != Role.STUDENT:
        problems.append("classSourcedIds enrols students only")
    password = get("password") or None
    if password is not None and (role == Role.STUDENT or len(password) < 10):
        problems.append("password: staff only, at least 10 characters")
    if problems:
        result.issues.append(RosterIssue(line, "; ".join(problems)))
        return
    assert role is not None
    seen_ids[sourced_id] = line
    seen_emails[email] = line
    result.rows.append(
        RosterRow(
            line=line,
            sourced_id=sourced_id,
            role=role,
            display_name=name,
            email=email,
            site_code=sites[0] if sites else None,
            course_codes=courses,
            password=password,
        )
    )
