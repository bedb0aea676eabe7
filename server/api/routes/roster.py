"""Roster import from a OneRoster-style users.csv: all rows or nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.api.deps import DB, Caller, SvcDep
from server.api.schemas import RosterReport, RowError
from server.auth.passwords import hash_password, verify_password
from server.db.models import Course, CourseSite, Enrolment, Site, User
from server.domain.roles import Role
from server.domain.roster import RosterIssue, RosterRow, parse_roster
from server.services.access import require_role

router = APIRouter(prefix="/api/roster", tags=["roster"])


async def _conflicts(
    db: AsyncSession,
    rows: list[RosterRow],
    sites: dict[str, int],
    courses: dict[str, int],
) -> list[RosterIssue]:
    """Problems that need the database: an e-mail owned by someone else, a role change,
    a student placed at a site where the course is not offered."""
    issues: list[RosterIssue] = []
    emails = [r.email for r in rows]
    by_email = {u.email: u for u in await db.exec(select(User).where(col(User.email).in_(emails)))}
    offered = {(cs.course_id, cs.site_id) for cs in await db.exec(select(CourseSite))}
    for row in rows:
        owner = by_email.get(row.email)
        if owner is not None and owner.sourced_id not in (None, row.sourced_id):
            issues.append(RosterIssue(row.line, f"email {row.email} belongs to another user"))
        elif owner is not None and owner.role != row.role:
            issues.append(
                RosterIssue(row.line, f"{row.email} is a {owner.role.value}; roles never change")
            )
        site_id = sites.get(row.site_code) if row.site_code else None
        for code in row.course_codes:
            if site_id is not None and (courses[code], site_id) not in offered:
                issues.append(
                    RosterIssue(row.line, f"course {code} is not offered at site {row.site_code}")
                )
    return issues


@router.post("/import", response_model=RosterReport)
async def import_roster(
    who: Caller,
    db: DB,
    svc: SvcDep,
    file: Annotated[UploadFile, File(description="users.csv, UTF-8")],
    dry_run: Annotated[bool, Query(description="check only, change nothing")] = False,
) -> RosterReport:
    require_role(who, {Role.ADMIN}, "import rosters")
    data = await file.read(svc.settings.max_body_bytes + 1)
    sites = {s.code: s.id for s in await db.exec(select(Site)) if s.id is not None}
    courses = {c.code: c.id for c in await db.exec(select(Course)) if c.id is not None}
    parsed = parse_roster(
        data,
        max_rows=svc.settings.max_csv_rows,
        site_codes=frozenset(sites),
        course_codes=frozenset(courses),
    )
    issues = parsed.issues or await _conflicts(db, parsed.rows, sites, courses)
    report = RosterReport(imported=False, rows=len(parsed.rows) + len(parsed.issues))
    if issues:
        report.errors = [RowError(line=i.line, reason=i.reason) for i in issues]
        return report
    if dry_run:
        return report
    by_sourced = {
        u.sourced_id: u
        for u in await db.exec(
            select(User).where(col(User.sourced_id).in_([r.sourced_id for r in parsed.rows]))
        )
    }
    by_email = {
        u.email: u
        for u in await db.exec(
            select(User).where(col(User.email).in_([r.email for r in parsed.rows]))
        )
    }
    for row in parsed.rows:
        site_id = sites[row.site_code] if row.site_code else None
        user = by_sourced.get(row.sourced_id) or by_email.get(row.email)
        if user is None:
            user = User(email=row.email, display_name=row.display_name, role=row.role)
            report.users_created += 1
        else:
            report.users_updated += 1
        user.email, user.display_name, user.sourced_id = row.email, row.display_name, row.sourced_id
        user.home_site_id = site_id
        if row.password and not (
            user.password_hash and verify_password(row.password, user.password_hash)
        ):
            user.password_hash = hash_password(row.password)
            user.token_generation += 1  # a changed password revokes earlier tokens
        db.add(user)
        await db.flush()
        for code in row.course_codes:
            course_id = courses[code]
            existing = (
                await db.exec(
                    select(Enrolment).where(
                        col(Enrolment.course_id) == course_id,
                        col(Enrolment.student_id) == user.id,
                    )
                )
            ).first()
            enrolment = existing or Enrolment(course_id=course_id, student_id=user.id or 0)
            enrolment.site_id = site_id
            db.add(enrolment)
            report.enrolments += 1
    await db.commit()
    report.imported = True
    return report
