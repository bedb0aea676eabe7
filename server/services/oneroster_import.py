"""Storing a checked OneRoster plan (server/domain/oneroster/) in one transaction.

Records are found by their sourcedId first (a second import updates in place), then adopted
by their natural key when they were made by hand before (a user's e-mail, a school's or a
course's code) and carry no sourcedId yet. Conflicts that need the database are reported like
the file's own problems, and then nothing is written. A dry run does the whole import and rolls
it back, so its counts are what a real import would do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.auth.passwords import hash_password, verify_password
from server.db.models import Consortium, Course, CourseSite, Enrolment, School, Site, User
from server.domain.oneroster.issues import Issue
from server.domain.oneroster.plan import Plan

T = TypeVar("T", School, User, Course, Enrolment)


@dataclass
class ImportCounts:
    schools_created: int = 0
    schools_updated: int = 0
    sites_created: int = 0
    users_created: int = 0
    users_updated: int = 0
    courses_created: int = 0
    courses_updated: int = 0
    enrolments_created: int = 0
    enrolments_updated: int = 0
    enrolments_removed: int = 0
    users_skipped: int = 0
    issues: list[Issue] = field(default_factory=list)


async def _by(db: AsyncSession, model: type[T], column: Any, values: Iterable[str]) -> dict[str, T]:
    wanted = sorted(set(values))
    if not wanted:
        return {}
    rows = await db.exec(select(model).where(col(column).in_(wanted)))
    return {getattr(row, column.key): row for row in rows}


def _pick(
    by_sourced: dict[str, T], by_key: dict[str, T], sourced_id: str, key: str
) -> tuple[T | None, str | None]:
    """The record for ``sourced_id``; or the one with the natural key when it has no sourcedId
    yet. The second answer is a conflict: the key belongs to another imported record."""
    found = by_sourced.get(sourced_id)
    if found is not None:
        return found, None
    other = by_key.get(key)
    if other is None:
        return None, None
    if other.sourced_id is None:
        return other, None
    return None, f"{key} belongs to another record (sourcedId {other.sourced_id})"


async def _conflicts(db: AsyncSession, plan: Plan) -> list[Issue]:
    issues: list[Issue] = []
    schools = await _by(db, School, School.sourced_id, (s.sourced_id for s in plan.schools))
    school_codes = await _by(db, School, School.code, (s.sourced_id for s in plan.schools))
    school_names = await _by(db, School, School.name, (s.name for s in plan.schools))
    for school in plan.schools:
        found, clash = _pick(schools, school_codes, school.sourced_id, school.sourced_id)
        named = school_names.get(school.name)
        if clash:
            issues.append(Issue("orgs.csv", school.line, f"school code {clash}"))
        elif named is not None and named is not found:
            issues.append(
                Issue("orgs.csv", school.line, f"a school is already named {school.name!r}")
            )
    return issues + await _user_conflicts(db, plan) + await _course_conflicts(db, plan)


async def _user_conflicts(db: AsyncSession, plan: Plan) -> list[Issue]:
    issues: list[Issue] = []
    users = await _by(db, User, User.sourced_id, (u.sourced_id for u in plan.users))
    emails = await _by(db, User, User.email, (u.email for u in plan.users))
    for user in plan.users:
        found, clash = _pick(users, emails, user.sourced_id, user.email)
        other = emails.get(user.email)
        if clash or (other is not None and found is not None and other is not found):
            issues.append(
                Issue("users.csv", user.line, f"email {user.email} belongs to another user")
            )
        elif found is not None and found.role != user.role:
            issues.append(
                Issue(
                    "users.csv",
                    user.line,
                    f"{user.email} is a {found.role.value} here; "
                    f"roles never change (roles.csv says {user.role.value})",
                )
            )
    return issues


async def _course_conflicts(db: AsyncSession, plan: Plan) -> list[Issue]:
    issues: list[Issue] = []
    courses = await _by(db, Course, Course.sourced_id, (c.sourced_id for c in plan.courses))
    codes = await _by(db, Course, Course.code, (c.code for c in plan.courses))
    for course in plan.courses:
        found, clash = _pick(courses, codes, course.sourced_id, course.code)
        other = codes.get(course.code)
        if clash or (other is not None and found is not None and other is not found):
            issues.append(Issue("classes.csv", course.line, f"course code {course.code} is taken"))
    return issues


async def _consortium(db: AsyncSession) -> int:
    existing = (await db.exec(select(Consortium).order_by(col(Consortium.id)))).first()
    if existing is None:
        existing = Consortium(name="Consortium")
        db.add(existing)
        await db.flush()
    assert existing.id is not None
    return existing.id


async def _store_schools(db: AsyncSession, plan: Plan, counts: ImportCounts) -> dict[str, int]:
    """School org sourcedId -> the id of the site its people take part from."""
    consortium_id = await _consortium(db)
    schools = await _by(db, School, School.sourced_id, (s.sourced_id for s in plan.schools))
    codes = await _by(db, School, School.code, (s.sourced_id for s in plan.schools))
    site_of: dict[str, int] = {}
    for planned in plan.schools:
        school, _ = _pick(schools, codes, planned.sourced_id, planned.sourced_id)
        if school is None:
            school = School(consortium_id=consortium_id, name=planned.name, code=planned.sourced_id)
            counts.schools_created += 1
        else:
            counts.schools_updated += 1
        school.name, school.sourced_id = planned.name, planned.sourced_id
        db.add(school)
        await db.flush()
        site = (
            await db.exec(
                select(Site).where(col(Site.school_id) == school.id).order_by(col(Site.id))
            )
        ).first()
        if site is None:
            site = Site(school_id=school.id or 0, name="Main room", code=school.code)
            db.add(site)
            await db.flush()
            counts.sites_created += 1
        assert site.id is not None
        site_of[planned.sourced_id] = site.id
    return site_of


async def _store_users(
    db: AsyncSession, plan: Plan, site_of: dict[str, int], counts: ImportCounts
) -> dict[str, int]:
    users = await _by(db, User, User.sourced_id, (u.sourced_id for u in plan.users))
    emails = await _by(db, User, User.email, (u.email for u in plan.users))
    ids: dict[str, int] = {}
    for planned in plan.users:
        user, _ = _pick(users, emails, planned.sourced_id, planned.email)
        if user is None:
            user = User(email=planned.email, display_name=planned.display_name, role=planned.role)
            counts.users_created += 1
        else:
            counts.users_updated += 1
        user.email, user.display_name = planned.email, planned.display_name
        user.sourced_id = planned.sourced_id
        user.home_site_id = site_of.get(planned.school) if planned.school else None
        if user.is_active and not planned.active:
            user.token_generation += 1  # a disabled account's tokens stop at once
        user.is_active = planned.active
        if planned.password and not (
            user.password_hash and verify_password(planned.password, user.password_hash)
        ):
            user.password_hash = hash_password(planned.password)
            user.token_generation += 1
        db.add(user)
        await db.flush()
        assert user.id is not None
        ids[planned.sourced_id] = user.id
    return ids


async def _store_courses(
    db: AsyncSession,
    plan: Plan,
    site_of: dict[str, int],
    user_ids: dict[str, int],
    counts: ImportCounts,
) -> None:
    courses = await _by(db, Course, Course.sourced_id, (c.sourced_id for c in plan.courses))
    codes = await _by(db, Course, Course.code, (c.code for c in plan.courses))
    course_ids: dict[str, int] = {}
    offered = plan.offered_at()
    for planned in plan.courses:
        course, _ = _pick(courses, codes, planned.sourced_id, planned.code)
        if course is None:
            course = Course(code=planned.code, title=planned.title, teacher_id=0)
            counts.courses_created += 1
        else:
            counts.courses_updated += 1
        course.code, course.title = planned.code, planned.title
        course.teacher_id, course.sourced_id = user_ids[planned.teacher], planned.sourced_id
        db.add(course)
        await db.flush()
        assert course.id is not None
        course_ids[planned.sourced_id] = course.id
        have = {
            cs.site_id
            for cs in await db.exec(
                select(CourseSite).where(col(CourseSite.course_id) == course.id)
            )
        }
        for school in offered[planned.sourced_id]:
            if site_of[school] not in have:
                db.add(CourseSite(course_id=course.id, site_id=site_of[school]))
                have.add(site_of[school])
    await db.flush()
    wanted: dict[tuple[int, int], tuple[str, int | None]] = {
        (course_ids[e.course], user_ids[e.student]): (
            e.sourced_id,
            site_of[e.school] if e.school else None,
        )
        for e in plan.enrolments
    }
    existing = await db.exec(
        select(Enrolment).where(col(Enrolment.course_id).in_(sorted(course_ids.values())))
    )
    kept: list[tuple[Enrolment, tuple[str, int | None]]] = []
    for enrolment in list(existing):
        key = (enrolment.course_id, enrolment.student_id)
        if key not in wanted:
            await db.delete(enrolment)  # a bulk file is the whole class list
            counts.enrolments_removed += 1
            continue
        kept.append((enrolment, wanted.pop(key)))
        enrolment.sourced_id = None  # freed first: a sourcedId may move to another row
        db.add(enrolment)
    await db.flush()
    for enrolment, (sourced_id, site_id) in kept:
        enrolment.sourced_id, enrolment.site_id = sourced_id, site_id
        db.add(enrolment)
        counts.enrolments_updated += 1
    await db.flush()
    for (course_id, student_id), (sourced_id, site_id) in wanted.items():
        db.add(
            Enrolment(
                course_id=course_id, student_id=student_id, site_id=site_id, sourced_id=sourced_id
            )
        )
        counts.enrolments_created += 1


async def store_plan(db: AsyncSession, plan: Plan, *, dry_run: bool) -> ImportCounts:
    """All or nothing: on any conflict nothing is written; a dry run is rolled back."""
    counts = ImportCounts(users_skipped=plan.skipped_users)
    if plan.issues:
        counts.issues = plan.issues
        return counts
    counts.issues = await _conflicts(db, plan)
    if counts.issues:
        return counts
    site_of = await _store_schools(db, plan, counts)
    user_ids = await _store_users(db, plan, site_of, counts)
    await _store_courses(db, plan, site_of, user_ids, counts)
    if dry_run:
        await db.rollback()
    else:
        await db.commit()
    return counts
