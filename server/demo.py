"""An idempotent demo consortium: 3 schools, 4 sites, a teacher, 4 facilitators, 40 students,
one course offered at every site and one live lesson.

Run again, it creates nothing while the last demo lesson is live; once that lesson has ended it
starts a fresh one. A fresh lesson is born live: its row and its first logged event
(``session.started``, built by the domain) are written in one transaction, before any live
runtime can exist for it, and the row's status is the projection of that event."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
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
    Site,
    User,
)
from server.domain.live import LiveAggregate, Roster, SessionStatus
from server.domain.live.commands import StartSession
from server.domain.roles import Actor, Role
from server.realtime.core.event_log import PendingEvent, event_row
from server.services.lifecycle import project_status

DEMO_PASSWORD = "hyflex-demo-2026"
SCHOOLS = (  # code, name, time zone, sites: the consortium spans two time zones
    ("north", "Northfield High", "America/Chicago", (("north-a", "Room A"), ("north-b", "Room B"))),
    ("river", "Riverside Academy", "America/Chicago", (("river-lab", "Science Lab"),)),
    ("hill", "Hillcrest School", "America/Denver", (("hill-lib", "Library"),)),
)
STUDENTS_PER_SITE = 8
REMOTE_STUDENTS = 8
FIRST_NAMES = ("Ada", "Ben", "Cleo", "Dev", "Ema", "Finn", "Gia", "Hugo", "Ines", "Jon")
COURSE_CODE = "PHYS-ADV"

LESSON_TITLE = "Forces and motion (demo)"

T = TypeVar("T", bound=SQLModel)
# What the summary calls each kind of record, singular and plural.
NOUNS: dict[str, tuple[str, str]] = {
    "Consortium": ("consortium", "consortia"),
    "School": ("school", "schools"),
    "Site": ("site", "sites"),
    "User": ("user", "users"),
    "Course": ("course", "courses"),
    "Enrolment": ("enrolment", "enrolments"),
    "CourseSite": ("course offer at a site", "course offers at sites"),
    "LiveSession": ("live lesson", "live lessons"),
}


@dataclass
class DemoConsortium:
    admin: User
    teacher: User
    facilitators: list[User]
    students: list[User]
    sites: list[Site]
    course: Course
    session: LiveSession
    created: Counter[str] = field(default_factory=Counter)  # model name -> rows created
    passwords_reset: int = 0
    ended_before: LiveSession | None = None  # the ended lesson a fresh one replaced

    def summary(self) -> str:
        """What this run did, in words: "created: 1 consortium, 3 schools, ..." or
        "already there, nothing created"."""
        made = [
            f"{n} {one if n == 1 else many}"
            for name, (one, many) in NOUNS.items()
            if (n := self.created[name])
        ]
        text = f"created: {', '.join(made)}" if made else "already there, nothing created"
        if self.passwords_reset:
            text += f"; demo password set again on {self.passwords_reset} staff accounts"
        return text


class _Seeder:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.created: Counter[str] = Counter()
        self.passwords_reset = 0

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
        self.created[model.__name__] += 1
        return row

    async def staff(self, email: str, name: str, role: Role, site_id: int | None) -> User:
        user = await self.get_or_create(
            User, {"email": email}, display_name=name, role=role, home_site_id=site_id
        )
        if not verify_password(DEMO_PASSWORD, user.password_hash):
            self.passwords_reset += user.password_hash is not None
            user.password_hash = hash_password(DEMO_PASSWORD)
            self.db.add(user)
        return user

    async def lessons(self, course: Course, status: SessionStatus) -> LiveSession | None:
        """The course's latest lesson in ``status``."""
        query = (
            select(LiveSession)
            .where(col(LiveSession.course_id) == course.id, col(LiveSession.status) == status)
            .order_by(col(LiveSession.id).desc())
        )
        return (await self.db.exec(query)).first()

    async def fresh_lesson(self, course: Course, teacher: User, now: float) -> LiveSession:
        """A new lesson, born live: its row and its log's ``session.started`` together."""
        row = LiveSession(course_id=course.id or 0, title=LESSON_TITLE)
        self.db.add(row)
        await self.db.flush()
        assert row.id is not None and teacher.id is not None
        lead = Actor(teacher.id, Role.TEACHER, None)
        for event in LiveAggregate(row.id, Roster([lead])).handle(lead, StartSession(), now):
            self.db.add(event_row(row.id, 1, PendingEvent(event, lead.user_id, None)))
            project_status(row, SessionStatus.LIVE, event.at)
        self.db.add(row)
        self.created["LiveSession"] += 1
        return row


async def seed_demo(
    sessions: async_sessionmaker[AsyncSession], now: float | None = None
) -> DemoConsortium:
    """Create what is missing (``now``: when a fresh lesson starts; the wall clock if None)."""
    async with sessions() as db:
        seed = _Seeder(db)
        consortium = await seed.get_or_create(Consortium, {"name": "Valley Schools Consortium"})
        assert consortium.id is not None
        sites: list[Site] = []
        for code, name, zone, rooms in SCHOOLS:
            school = await seed.get_or_create(
                School, {"code": code}, name=name, consortium_id=consortium.id, timezone=zone
            )
            if school.timezone == "UTC":  # a demo school from before schools had zones
                school.timezone = zone
                db.add(school)
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
        live = await seed.lessons(course, SessionStatus.LIVE)
        ended = None
        if live is None:
            ended = await seed.lessons(course, SessionStatus.ENDED)
            live = await seed.fresh_lesson(course, teacher, time.time() if now is None else now)
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
            passwords_reset=seed.passwords_reset,
            ended_before=ended,
        )
