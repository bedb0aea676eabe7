"""Benchmark-only seeding for ``bench/ws_fanout.py``: the demo consortium plus thousands of
students enrolled in its course (bulk inserts), and an access token for each."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import insert
from sqlmodel import col, select

from server.app import create_app
from server.db.migrate import upgrade
from server.db.models import Enrolment, User
from server.demo import seed_demo
from server.domain.roles import Role
from server.settings import Settings

CHUNK = 500


@dataclass
class Seeded:
    session_id: int
    tokens: list[str]


async def seed(settings: Settings, students: int) -> Seeded:
    """Migrate, seed the demo, enrol ``students`` more (spread over the sites and remote)."""
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    app = create_app(settings)
    services = app.state.services
    try:
        demo = await seed_demo(services.sessions)
        course_id = demo.course.id
        assert course_id is not None and demo.session.id is not None
        placements: list[int | None] = [s.id for s in demo.sites] + [None]
        async with services.sessions() as db:
            for first in range(0, students, CHUNK):
                rows = [
                    {
                        "email": f"bench{n:05d}@bench.hyflex",
                        "display_name": f"Bench S{n:05d}",
                        "role": Role.STUDENT,
                        "home_site_id": placements[n % len(placements)],
                        "is_active": True,
                    }
                    for n in range(first, min(students, first + CHUNK))
                ]
                await db.execute(insert(User), rows)
            await db.commit()
            found = list(
                await db.exec(
                    select(User.id, User.home_site_id)
                    .where(col(User.email).like("bench%@bench.hyflex"))
                    .order_by(col(User.id))
                )
            )
            for first in range(0, len(found), CHUNK):
                await db.execute(
                    insert(Enrolment),
                    [
                        {"course_id": course_id, "student_id": uid, "site_id": site}
                        for uid, site in found[first : first + CHUNK]
                    ],
                )
            await db.commit()
        signer = services.signer
        now = time.time()
        tokens = [
            str(
                signer.issue(
                    user_id=uid, role=Role.STUDENT, typ="access", now=now, ttl_seconds=3600
                )
            )
            for uid, _ in found
        ]
        return Seeded(demo.session.id, tokens)
    finally:
        await services.engine.dispose()
