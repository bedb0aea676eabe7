"""A password change closes the user's open live connections (4401) and their old token no
longer opens one; other participants carry on."""

from __future__ import annotations

import httpx

from server.domain.roles import Role
from tests.live_server import WsClient
from tests.realtime.conftest import Class


async def test_password_change_closes_live_connections(klass: Class) -> None:
    teacher = await klass.teacher()
    fac = await klass.facilitator(0)
    student = await klass.student(0)
    old_token = klass.token(klass.demo.facilitators[0].id or 0, Role.FACILITATOR)
    admin = klass.token(klass.demo.admin.id or 0, Role.ADMIN)
    async with httpx.AsyncClient(base_url=klass.server.base, timeout=10) as http:
        resp = await http.put(
            f"/api/users/{klass.demo.facilitators[0].id}/password",
            json={"password": "a-brand-new-password"},
            headers={"Authorization": f"Bearer {admin}"},
        )
    assert resp.status_code == 204
    assert await fac.closed_with() == 4401
    again = await WsClient.open(klass.server.ws_url(klass.session_id), old_token, None, False)
    klass.clients.append(again)
    assert await again.closed_with() == 4401
    await teacher.ok("hand.clear")  # the others are still connected and served
    await student.ok("hand.raise")
