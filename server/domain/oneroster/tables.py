"""Each OneRoster 1.2 CSV file read row by row: the header exactly as the specification names
and orders its columns (extension columns start with ``metadata.``), then each field checked:
required, enumerations, dates, booleans, identifiers. A row with problems yields one issue
naming every problem; a good row yields its fields, stripped."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

from server.domain.oneroster.issues import Issue

COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "manifest.csv": ("propertyName", "value"),
    "orgs.csv": (
        "sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId",
    ),
    "academicSessions.csv": (
        "sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
        "parentSourcedId", "schoolYear",
    ),
    "courses.csv": (
        "sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode",
        "grades", "orgSourcedId", "subjects", "subjectCodes",
    ),
    "classes.csv": (
        "sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
        "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects",
        "subjectCodes", "periods",
    ),
    "users.csv": (
        "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds",
        "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
        "agentSourcedIds", "grades", "password", "userMasterIdentifier", "resourceSourcedIds",
        "preferredGivenName", "preferredMiddleName", "preferredFamilyName",
        "primaryOrgSourcedId", "pronouns",
    ),
    "roles.csv": (
        "sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role",
        "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId",
    ),
    "enrollments.csv": (
        "sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
        "userSourcedId", "role", "primary", "beginDate", "endDate",
    ),
}  # fmt: skip

REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "manifest.csv": ("propertyName", "value"),
    "orgs.csv": ("sourcedId", "name", "type"),
    "academicSessions.csv": (
        "sourcedId", "title", "type", "startDate", "endDate", "schoolYear",
    ),
    "courses.csv": ("sourcedId", "title", "orgSourcedId"),
    "classes.csv": (
        "sourcedId", "title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds",
    ),
    "users.csv": ("sourcedId", "enabledUser", "givenName", "familyName"),
    "roles.csv": ("sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"),
    "enrollments.csv": ("sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
}  # fmt: skip

ORG_TYPES: Final = frozenset({"department", "school", "district", "local", "state", "national"})
SESSION_TYPES: Final = frozenset({"gradingPeriod", "semester", "schoolYear", "term"})
CLASS_TYPES: Final = frozenset({"homeroom", "scheduled"})
USER_ROLES: Final = frozenset(
    {
        "aide", "administrator", "counselor", "districtAdministrator", "guardian", "parent",
        "principal", "proctor", "relative", "siteAdministrator", "student",
        "systemAdministrator", "teacher",
    }
)  # fmt: skip
ENROLLMENT_ROLES: Final = frozenset({"administrator", "aide", "proctor", "student", "teacher"})
ROLE_TYPES: Final = frozenset({"primary", "secondary"})
ENUMS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("orgs.csv", "type"): ORG_TYPES,
    ("academicSessions.csv", "type"): SESSION_TYPES,
    ("classes.csv", "classType"): CLASS_TYPES,
    ("roles.csv", "role"): USER_ROLES,
    ("roles.csv", "roleType"): ROLE_TYPES,
    ("enrollments.csv", "role"): ENROLLMENT_ROLES,
}
DATES: Final = frozenset({"startDate", "endDate", "beginDate"})
BOOLEANS: Final = frozenset({"enabledUser", "primary"})
_ID_FIELDS: Final = frozenset(
    {
        "sourcedId", "parentSourcedId", "schoolYearSourcedId", "orgSourcedId", "courseSourcedId",
        "schoolSourcedId", "classSourcedId", "userSourcedId", "primaryOrgSourcedId",
    }
)  # fmt: skip
SOURCED_ID: Final = re.compile(r"^[A-Za-z0-9._:@{}-]{1,128}$")
MAX_FIELD_CHARS: Final = 1000
_YEAR = re.compile(r"^\d{4}$")


@dataclass(frozen=True, slots=True)
class Row:
    file: str
    line: int
    values: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return self.values.get(name, "")

    def ids(self, name: str) -> tuple[str, ...]:
        """A list field (comma separated inside its quotes)."""
        return tuple(v.strip() for v in self[name].split(",") if v.strip())


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    # Every sourcedId in the file, good rows or not: a reference to a bad row is not reported
    # again as unknown.
    seen_ids: set[str] = field(default_factory=set)


def parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _check_header(name: str, header: list[str]) -> str | None:
    expected = COLUMNS[name]
    base = [c for c in header if not c.startswith("metadata.")]
    if base == list(expected) and header[: len(expected)] == list(expected):
        return None
    missing = [c for c in expected if c not in header]
    unknown = [c for c in base if c not in expected]
    parts = []
    if missing:
        parts.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        parts.append(f"unknown column(s) {', '.join(unknown)} (extensions start with metadata.)")
    if not parts:
        parts.append("the columns are not in the specification's order")
    return f"wrong header: {'; '.join(parts)}; expected {','.join(expected)}"


def _field_problems(name: str, values: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for column in REQUIRED[name]:
        if not values.get(column):
            problems.append(f"{column} is required")
    for column, value in values.items():
        if not value:
            continue
        if len(value) > MAX_FIELD_CHARS:
            problems.append(f"{column} is longer than {MAX_FIELD_CHARS} characters")
            continue
        allowed = ENUMS.get((name, column))
        if allowed is not None and value not in allowed:
            problems.append(f"{column} {value!r} is not one of {', '.join(sorted(allowed))}")
        elif column in DATES and parse_date(value) is None:
            problems.append(f"{column} {value!r} is not a date (YYYY-MM-DD)")
        elif column in BOOLEANS and value not in ("true", "false"):
            problems.append(f"{column} {value!r} must be true or false")
        elif column in _ID_FIELDS and not SOURCED_ID.match(value):
            problems.append(f"{column} {value!r} is not a valid sourcedId")
    if values.get("status", "") not in ("", "active"):
        problems.append(
            f"status {values['status']!r}: this import takes bulk files (status empty or active)"
        )
    if values.get("dateLastModified") and not _is_datetime(values["dateLastModified"]):
        problems.append(f"dateLastModified {values['dateLastModified']!r} is not a date-time")
    year = values.get("schoolYear", "") if name == "academicSessions.csv" else ""
    if year and not _YEAR.match(year):
        problems.append(f"schoolYear {values['schoolYear']!r} is not a year (YYYY)")
    return problems


def read_table(name: str, data: bytes, max_rows: int) -> Table:
    table = Table()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        table.issues.append(Issue(name, 0, f"not UTF-8 text ({exc.reason})"))
        return table
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        if not header:
            table.issues.append(Issue(name, 1, "the file is empty (a header row is needed)"))
            return table
        wrong = _check_header(name, header)
        if wrong:
            table.issues.append(Issue(name, 1, wrong))
            return table
        seen: dict[str, int] = {}
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(table.rows) + len(table.issues) >= max_rows:
                table.issues.append(Issue(name, line, f"more than {max_rows} rows"))
                break
            if len(fields) != len(header):
                table.issues.append(
                    Issue(name, line, f"{len(fields)} fields where the header has {len(header)}")
                )
                continue
            values = {h: f.strip() for h, f in zip(header, fields, strict=True)}
            problems = _field_problems(name, values)
            key = values.get("sourcedId") or values.get("propertyName") or ""
            if key and key in seen:
                problems.append(f"{key!r} repeats line {seen[key]}")
            elif key:
                seen[key] = line
                table.seen_ids.add(key)
            if problems:
                table.issues.append(Issue(name, line, "; ".join(problems)))
            else:
                table.rows.append(Row(name, line, values))
    except csv.Error as exc:
        table.issues.append(Issue(name, reader.line_num, f"malformed CSV: {exc}"))
    return table
