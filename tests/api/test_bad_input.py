"""Hostile and malformed requests get a clear 4xx with a message; nothing half-written."""

from __future__ import annotations

import time
from typing import Any

import jwt
from sqlmodel import col, func, select

from server.db.models import School, User
from server.domain.roles import Role
from tests.api.world import build_world
from tests.conftest import TEST_SECRET


async def test_malformed_and_wrong_types(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    h = world.headers("admin")
    cases = [
        ({"content": b"{not json", "headers": {**h, "content-type": "application/json"}}, 422),
        ({"json": {"name": 42, "code": "x"}, "headers": h}, 422),
        ({"json": {"name": "A", "code": "has spaces"}, "headers": h}, 422),
        ({"json": {"name": "A", "code": "ok", "extra": 1}, "headers": h}, 422),
        ({"json": {"name": "", "code": "ok"}, "headers": h}, 422),
        ({"json": {"name": "\u200b\u2060 \u3164", "code": "ok"}, "headers": h}, 422),
        ({"json": ["not", "an", "object"], "headers": h}, 422),
    ]
    for kwargs, want in cases:
        resp = await client.post("/api/schools", **kwargs)
        assert resp.status_code == want, (kwargs, resp.text)
        assert resp.json()["detail"]
    resp = await client.get("/api/courses/not-a-number", headers=h)
    assert resp.status_code == 422
    async with app.state.services.sessions() as db:
        assert (await db.exec(select(func.count()).select_from(School))).one() == 3


async def test_unknown_ids_and_duplicates(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    for path in (
        "/api/courses/999999",
        "/api/sessions/999999",
        "/api/sites/999999",
        "/api/schools/999999",
        "/api/users/999999",
    ):
        resp = await world.call("admin", "GET", path)
        assert resp.status_code == 404, path
        assert "not found" in resp.json()["error"]["message"]
    resp = await world.call(
        "admin", "POST", "/api/schools", json={"name": "Northfield High", "code": "zz"}
    )
    assert resp.status_code == 409
    resp = await world.call(
        "admin",
        "POST",
        "/api/users",
        json={
            "email": "teacher@demo.hyflex",
            "display_name": "Dup",
            "role": "teacher",
            "password": "long-enough-pass",
        },
    )
    assert resp.status_code == 409
    resp = await world.call(
        "admin",
        "POST",
        f"/api/courses/{world.ids['course']}/enrolments",
        json={"student_id": world.ids["student"]},
    )
    assert resp.status_code == 409
    resp = await world.call(
        "admin",
        "POST",
        f"/api/courses/{world.ids['course']}/enrolments",
        json={"student_id": world.ids["teacher"]},
    )
    assert resp.status_code == 422 and "not a student" in resp.text
    resp = await world.call(
        "admin",
        "POST",
        f"/api/sessions/{world.ids['session']}/start",
    )
    assert resp.status_code == 409 and "already live" in resp.text


async def test_oversized_body_is_refused(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    limit = app.state.services.settings.max_body_bytes
    big = b'{"name": "' + b"x" * (limit + 10) + b'", "code": "big"}'
    resp = await client.post(
        "/api/schools",
        content=big,
        headers={**world.headers("admin"), "content-type": "application/json"},
    )
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "too_large"

    async def chunks() -> Any:  # no content-length: the stream is counted as it arrives
        for _ in range(limit // 1000 + 5):
            yield b"x" * 1000

    resp = await client.post("/api/schools", content=chunks(), headers=world.headers("admin"))
    assert resp.status_code == 413


async def test_tokens_expired_forged_or_wrong_kind(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    signer = app.state.services.signer
    now = time.time()
    teacher_id = world.ids["teacher"]
    expired = signer.issue(
        user_id=teacher_id, role=Role.TEACHER, typ="access", now=now - 7200, ttl_seconds=60
    )
    forged = jwt.encode(
        {"sub": str(teacher_id), "role": "admin", "typ": "access", "exp": int(now) + 600},
        "not-the-secret-but-long-enough-to-be-plausible",
        algorithm="HS256",
    )
    role_lie = jwt.encode(
        {"sub": str(teacher_id), "role": "admin", "typ": "access", "exp": int(now) + 600},
        TEST_SECRET,
        algorithm="HS256",
    )
    none_alg = jwt.encode(
        {"sub": str(teacher_id), "role": "teacher", "typ": "access", "exp": int(now) + 600},
        None,
        algorithm="none",
    )
    link = await world.join_link(world.ids["student"], world.ids["session"])
    for token in (expired, forged, role_lie, none_alg, link, "garbage", "a.b.c"):
        resp = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 401, token
        assert resp.json()["error"]["code"] == "invalid_token"
    access = world.tokens["teacher"]
    resp = await client.post("/api/auth/join", json={"token": access})
    assert resp.status_code == 401
    resp = await client.post(
        "/api/auth/login", json={"email": "teacher@demo.hyflex", "password": "wrong"}
    )
    assert resp.status_code == 401
    resp = await client.post("/api/auth/login", json={"email": "nobody@x.y", "password": "wrong"})
    assert resp.status_code == 401


async def test_join_link_of_unenrolled_student_and_of_an_ended_session(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    link = await world.join_link(world.ids["student2"], world.ids["session"])
    resp = await client.post("/api/auth/join", json={"token": link})
    assert resp.status_code == 401 and "not enrolled" in resp.text
    resp = await world.call("teacher", "POST", f"/api/sessions/{world.ids['session']}/end")
    assert resp.status_code == 200 and resp.json()["status"] == "ended"
    link = await world.join_link(world.ids["student"], world.ids["session"])
    resp = await client.post("/api/auth/join", json={"token": link})
    assert resp.status_code == 200  # after the lesson the link opens the catch-up player
    assert resp.json()["session_status"] == "ended"
    assert resp.json()["session_id"] == world.ids["session"]


async def test_staff_user_needs_password_and_facilitator_a_site(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    resp = await world.call(
        "admin",
        "POST",
        "/api/users",
        json={"email": "t@x.org", "display_name": "T", "role": "teacher"},
    )
    assert resp.status_code == 422 and "password" in resp.text
    resp = await world.call(
        "admin",
        "POST",
        "/api/users",
        json={
            "email": "f@x.org",
            "display_name": "F",
            "role": "facilitator",
            "password": "long-enough-pass",
        },
    )
    assert resp.status_code == 422 and "home_site_id" in resp.text
    resp = await world.call(
        "admin",
        "POST",
        "/api/users",
        json={
            "email": "F2@X.org",
            "display_name": "F",
            "role": "facilitator",
            "password": "long-enough-pass",
            "home_site_id": world.ids["site"],
        },
    )
    assert resp.status_code == 201 and resp.json()["email"] == "f2@x.org"
    login = await client.post(
        "/api/auth/login", json={"email": "f2@x.org", "password": "long-enough-pass"}
    )
    assert login.status_code == 200
    async with app.state.services.sessions() as db:
        emails = list(await db.exec(select(User.email).where(col(User.email).like("%@x.org"))))
    assert emails == ["f2@x.org"]
