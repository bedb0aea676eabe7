"""A password change signs the user out everywhere: every token issued before it stops
working (the user's token generation, carried in each token, is raised). A student's join
links and the tokens they gave carry the student's generation too."""

from __future__ import annotations

import io
from typing import Any

from server.db.models import User
from server.demo import DEMO_PASSWORD
from tests.api.world import World, build_world

NEW_PASSWORD = "a-brand-new-password"


async def _me(world: World, token: str) -> int:
    resp = await world.client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    return resp.status_code


async def test_password_reset_revokes_earlier_tokens(app_and_client: Any) -> None:
    world = await build_world(*app_and_client)
    old = world.tokens["fac"]
    other = await world.login(world.demo.facilitators[0].email)  # a second device
    assert await _me(world, old) == 200
    resp = await world.call(
        "admin", "PUT", f"/api/users/{world.ids['fac']}/password", json={"password": NEW_PASSWORD}
    )
    assert resp.status_code == 204
    for token in (old, other):
        resp = await world.client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "invalid_token"
        assert "password was changed" in resp.json()["error"]["message"]
    login = {"email": world.demo.facilitators[0].email, "password": DEMO_PASSWORD}
    assert (await world.client.post("/api/auth/login", json=login)).status_code == 401
    login["password"] = NEW_PASSWORD
    resp = await world.client.post("/api/auth/login", json=login)
    assert resp.status_code == 200
    assert await _me(world, resp.json()["access_token"]) == 200
    assert await _me(world, world.tokens["teacher"]) == 200  # nobody else is signed out


async def test_roster_password_change_revokes_but_the_same_password_does_not(
    app_and_client: Any,
) -> None:
    world = await build_world(*app_and_client)
    header = "sourcedId,role,givenName,familyName,email,orgSourcedIds,password\n"

    async def import_with(password: str) -> None:
        row = f"t-1,teacher,Tea,Cher,{world.demo.teacher.email},,{password}\n"
        resp = await world.call(
            "admin",
            "POST",
            "/api/roster/import",
            files={"file": ("users.csv", io.BytesIO((header + row).encode()), "text/csv")},
        )
        assert resp.json()["imported"] is True, resp.text

    await import_with(DEMO_PASSWORD)
    assert await _me(world, world.tokens["teacher"]) == 200
    await import_with(NEW_PASSWORD)
    assert await _me(world, world.tokens["teacher"]) == 401


async def test_revoked_student_join_links_and_their_tokens_stop_working(
    app_and_client: Any,
) -> None:
    world = await build_world(*app_and_client)
    link = await world.join_link(world.ids["student"], world.ids["session"])
    resp = await world.client.post("/api/auth/join", json={"token": link})
    assert resp.status_code == 200
    joined = resp.json()["access_token"]
    assert await _me(world, joined) == 200
    async with world.app.state.services.sessions() as db:
        student = await db.get(User, world.ids["student"])
        assert student is not None
        student.token_generation += 1
        db.add(student)
        await db.commit()
    assert await _me(world, joined) == 401
    resp = await world.client.post("/api/auth/join", json={"token": link})
    assert resp.status_code == 401 and "revoked" in resp.json()["error"]["message"]
    fresh = await world.call("admin", "POST", f"/api/sessions/{world.ids['session']}/join-links")
    new_link = next(x for x in fresh.json() if x["student_id"] == world.ids["student"])["token"]
    assert (await world.client.post("/api/auth/join", json={"token": new_link})).status_code == 200
