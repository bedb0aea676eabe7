"""An idempotent demo consortium: 3 schools, 4 sites, a teacher, 4 facilitators, 40 students,
one course offered at every site and one live session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.auth.passwords import hash_password, verify_password
from server.db.models import (
    Consortium,
    Course,
    CourseSite,
    Enrolment,
    LiveSession,
    School,
    SessionStatus,
    Site,
    User,
)
from server.domain.roles import Role

DEMO_PASSWORD = "hyflex-demo-2026"
SCHOOLS = (
    ("north", "Northfield High", (("north-a", "Room A"), ("north-b", "Room B"))),
    ("river", "Riverside Academy", (("river-lab", "Science Lab"),)),
    ("hill", "Hillcrest School", (("hill-lib", "Library"),)),
)
STUDENTS_PER_SITE = 8
REMOTE_STUDENTS = 8
FIRST_NAMES = ("Ada", "Ben", "Cleo", "Dev", "Ema", "Finn", "Gia", "Hugo", "Ines", "Jon")
COURSE_CODE = "PHYS-ADV"

T = TypeVar("T", bound=SQLModel)


@dataclass
class DemoConsortium:
    admin: User
    teacher: User
    facilitators: list[User]
    students: list[User]
    sites: list[Site]
    course: Course
    session: LiveSession
    created: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _Seeder:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.created = 0

    async def get_or_create(self, model: type[T], where: dict[str, Any], **values: Any) -> T:
        query = select(model)
        for name, value in where.items():
            query = query.where(col(getattr(model, name)) == value)
        found = (await self.db.exec(query)).first()
        if found is not None:
            return found
        row = model(**where, **values)
        self.db.add(row)
        await self.db.flush()
        self.created += 1
        return row

    async def staff(self, email: str, name: str, role: Role, site_id: int | None) -> User:
        user = await self.get_or_create(
            User, {"email": email}, display_name=name, role=role, home_site_id=site_id
        )
        if not verify_password(DEMO_PASSWORD, user.password_hash):
            user.password_hash = hash_password(DEMO_PASSWORD)
            self.db.add(user)
        return user


async def seed_demo(sessions: async_sessionmaker[AsyncSession]) -> DemoConsortium:
    async with sessions() as db:
        seed = _Seeder(db)
        consortium = await seed.get_or_create(Consortium, {"name": "Valley Schools Consortium"})
        assert consortium.id is not None
        sites: list[Site] = []
        for code, name, rooms in SCHOOLS:
            school = await seed.get_or_create(
                School, {"code": code}, name=name, consortium_id=consortium.id
            )
            for site_code, room in rooms:
                sites.append(
                    await seed.get_or_create(
                        Site, {"code": site_code}, name=f"{name} - {room}", school_id=school.id
                    )
                )
        admin = await seed.staff("admin@demo.hyflex", "Consortium Admin", Role.ADMIN, None)
        teacher = await seed.staff("teacher@demo.hyflex", "Dr Maya Okafor", Role.TEACHER, None)
        facilitators = [
            await seed.staff(
                f"facilitator.{site.code}@demo.hyflex",
                f"Facilitator {site.name}",
                Role.FACILITATOR,
                site.id,
            )
            for site in sites
        ]
        course = await seed.get_or_create(
            Course, {"code": COURSE_CODE}, title="Advanced Physics", teacher_id=teacher.id
        )
        placements: list[int | None] = [s.id for s in sites for _ in range(STUDENTS_PER_SITE)]
        placements += [None] * REMOTE_STUDENTS
        students: list[User] = []
        for n, site_id in enumerate(placements, start=1):
            first = FIRST_NAMES[n % len(FIRST_NAMES)]
            student = await seed.get_or_create(
                User,
                {"email": f"student{n:02d}@demo.hyflex"},
                display_name=f"{first} S{n:02d}",
                role=Role.STUDENT,
                home_site_id=site_id,
            )
            students.append(student)
            await seed.get_or_create(
                Enrolment, {"course_id": course.id, "student_id": student.id}, site_id=site_id
            )
        for site in sites:
            await seed.get_or_create(CourseSite, {"course_id": course.id, "site_id": site.id})
        live = (
            await db.exec(
                select(LiveSession)
                .where(col(LiveSession.course_id) == course.id)
                .where(col(LiveSession.status) != SessionStatus.ENDED)
                .order_by(col(LiveSession.id))
            )
        ).first()
        if live is None:
            live = LiveSession(
                course_id=course.id or 0,
                title="Forces and motion (demo)",
                status=SessionStatus.LIVE,
                started_at=datetime.now(UTC),
            )
            db.add(live)
            seed.created += 1
        await db.commit()
        return DemoConsortium(
            admin=admin,
            teacher=teacher,
            facilitators=facilitators,
            students=students,
            sites=sites,
            course=course,
            session=live,
            created=seed.created,
        )
