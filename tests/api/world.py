"""A seeded consortium with one signed-in client per kind of caller, for API tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from server.auth.passwords import hash_password
from server.db.models import Site, User
from server.demo import DEMO_PASSWORD, DemoConsortium, seed_demo
from server.domain.roles import Role

ACTORS = (
    "anon",
    "admin",
    "teacher",
    "teacher2",
    "fac",
    "fac2",
    "student",
    "student2",
    "joined",
)


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    demo: DemoConsortium
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def headers(self, actor: str) -> dict[str, str]:
        token = self.tokens.get(actor)
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def call(self, actor: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.client.request(method, path, headers=self.headers(actor), **kw)

    async def login(self, email: str) -> str:
        resp = await self.client.post(
            "/api/auth/login", json={"email": email, "password": DEMO_PASSWORD}
        )
        assert resp.status_code == 200, resp.text
        token: str = resp.json()["access_token"]
        return token

    async def join_link(self, student_id: int, session_id: int) -> str:
        svc = self.app.state.services
        return str(
            svc.signer.issue(
                user_id=student_id,
                role=Role.STUDENT,
                typ="join",
                now=time.time(),
                ttl_seconds=3600,
                session_id=session_id,
            )
        )


async def build_world(app: FastAPI, client: httpx.AsyncClient) -> World:
    svc = app.state.services
    demo = await seed_demo(svc.sessions)
    world = World(app=app, client=client, demo=demo)
    async with svc.sessions() as db:
        # A site that does not offer the demo course, with its own facilitator, and a
        # second teacher and a student who are not part of the demo course.
        outside = Site(school_id=demo.sites[0].school_id, name="Room Z", code="north-z")
        db.add(outside)
        await db.flush()
        extra = {
            "teacher2": User(
                email="teacher2@demo.hyflex",
                display_name="Other Teacher",
                role=Role.TEACHER,
                password_hash=hash_password(DEMO_PASSWORD),
            ),
            "fac2": User(
                email="fac2@demo.hyflex",
                display_name="Other Facilitator",
                role=Role.FACILITATOR,
                home_site_id=outside.id,
                password_hash=hash_password(DEMO_PASSWORD),
            ),
            "student2": User(
                email="lonely@demo.hyflex", display_name="Not Enrolled", role=Role.STUDENT
            ),
        }
        for user in extra.values():
            db.add(user)
        await db.commit()
    for name, user in extra.items():
        assert user.id is not None
        world.ids[name] = user.id
    world.ids["outside_site"] = outside.id or 0
    assert demo.session.id is not None and demo.course.id is not None
    world.ids.update(
        admin=demo.admin.id or 0,
        teacher=demo.teacher.id or 0,
        fac=demo.facilitators[0].id or 0,
        student=demo.students[0].id or 0,
        site=demo.sites[0].id or 0,
        course=demo.course.id,
        session=demo.session.id,
    )
    for actor, email in (
        ("admin", demo.admin.email),
        ("teacher", demo.teacher.email),
        ("teacher2", "teacher2@demo.hyflex"),
        ("fac", demo.facilitators[0].email),
        ("fac2", "fac2@demo.hyflex"),
    ):
        world.tokens[actor] = await world.login(email)
    signer = svc.signer
    for actor in ("student", "student2"):
        world.tokens[actor] = signer.issue(
            user_id=world.ids[actor],
            role=Role.STUDENT,
            typ="access",
            now=time.time(),
            ttl_seconds=3600,
        )
    link = await world.join_link(world.ids["student"], demo.session.id)
    resp = await client.post("/api/auth/join", json={"token": link})
    assert resp.status_code == 200, resp.text
    world.tokens["joined"] = resp.json()["access_token"]
    return world
