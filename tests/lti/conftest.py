"""The tool (a real server on a loopback port, with the demo consortium) and the test LMS
(tests/lti/platform.py), registered with each other as an admin would."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from server.app import create_app
from server.demo import DEMO_PASSWORD, DemoConsortium, seed_demo
from server.domain.roles import Role
from server.settings import Settings
from tests.live_server import WsClient
from tests.lti.platform import CLIENT_ID, PendingLaunch, Person, TestPlatform, read_form


@dataclass
class Launched:
    """Where a launch left the browser."""

    status: int
    location: str = ""
    page: str = ""

    @property
    def token(self) -> str:
        return self.location.split("#", 1)[1]


@dataclass
class Lms:
    app: FastAPI
    tool: str
    platform: TestPlatform
    demo: DemoConsortium
    settings: Settings
    server: uvicorn.Server
    task: asyncio.Task[None]
    admin_token: str = ""
    platform_id: int = 0
    clients: list[WsClient] = field(default_factory=list)

    @property
    def session_id(self) -> int:
        assert self.demo.session.id is not None
        return self.demo.session.id

    def place(self, resource_link: str) -> None:
        """The LMS knows the resource link as the demo lesson, as Deep Linking leaves it."""
        check = self.app.state.lti.state.lesson_check(self.platform_id, self.session_id)
        self.platform.custom[resource_link] = {
            "hyflex_lesson": str(self.session_id),
            "hyflex_check": check,
        }

    async def launch(self, launch: PendingLaunch, *, hint: str | None = None) -> Launched:
        """A browser's whole launch: login initiation at the tool, the LMS's authorization
        endpoint, then the form post of the id_token back to the tool."""
        hint = hint or f"h-{len(self.platform.launches)}"
        self.platform.launches[hint] = launch
        async with httpx.AsyncClient(timeout=30) as browser:
            query = {
                "iss": self.platform.issuer,
                "login_hint": launch.person.sub,
                "target_link_uri": f"{self.tool}/lti/launch",
                "lti_message_hint": hint,
                "client_id": CLIENT_ID,
            }
            started = await browser.get(f"{self.tool}/lti/login?{urlencode(query)}")
            assert started.status_code == 302, started.text
            authorized = await browser.get(started.headers["location"])
            assert authorized.status_code == 200, authorized.text
            action, fields = read_form(authorized.text)
            resp = await browser.post(action, data=fields)
        return Launched(resp.status_code, resp.headers.get("location", ""), resp.text)

    async def join(self, launched: Launched) -> dict[str, Any]:
        """A student's launch ends at /join#<token>: exchange it as the join page does."""
        assert launched.status == 303 and launched.location.startswith("/join#"), launched
        async with httpx.AsyncClient(base_url=self.tool) as http:
            resp = await http.post("/api/auth/join", json={"token": launched.token})
        assert resp.status_code == 200, resp.text
        out: dict[str, Any] = resp.json()
        return out

    async def api(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.tool, timeout=30) as http:
            return await http.request(
                method, path, headers={"Authorization": f"Bearer {token}"}, **kw
            )

    async def ws(self, token: str) -> WsClient:
        url = self.tool.replace("http://", "ws://") + f"/ws/sessions/{self.session_id}"
        client = await WsClient.open(url, token)
        self.clients.append(client)
        return client

    def staff_token(self, user_id: int, role: Role) -> str:
        signer = self.app.state.services.signer
        return str(
            signer.issue(user_id=user_id, role=role, typ="access", now=time.time(), ttl_seconds=600)
        )


TEACHER = Person("lms-teacher", "Terry Teacher", "teacher@demo.hyflex", [
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"])  # fmt: skip


def learner(n: int) -> Person:
    return Person(
        f"lms-learner-{n}",
        f"Learner {n}",
        f"learner{n}@lms.example",
        ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
    )


@pytest.fixture
async def lms(settings: Settings) -> AsyncIterator[Lms]:
    async with running_lms(settings) as running:
        yield running


@contextlib.asynccontextmanager
async def running_lms(settings: Settings) -> AsyncIterator[Lms]:
    """The tool on a loopback port (its public URL is that port) with the demo consortium, and
    the test LMS registered with it through the admin API."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    tool = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = settings.model_copy(
        update={
            "public_url": tool,
            "lti_retry_seconds": 0.02,
            "lti_max_attempts": 6,
            "ws_rate_per_second": 200,
            "ws_rate_burst": 400,
        }
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    platform = TestPlatform()
    platform.tool_base = tool
    await platform.start()
    demo = await seed_demo(app.state.services.sessions)
    async with httpx.AsyncClient(base_url=tool, timeout=30) as http:
        for _ in range(200):  # bounded wait until the tool answers
            try:
                await http.get("/healthz")
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.02)
        login = await http.post(
            "/api/auth/login", json={"email": demo.admin.email, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.text
        admin = login.json()["access_token"]
        registered = await http.post(
            "/api/lti/platforms",
            json=platform.registration(),
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert registered.status_code == 201, registered.text
    lms = Lms(app, tool, platform, demo, settings, server, task, admin, registered.json()["id"])
    try:
        yield lms
    finally:
        for client in lms.clients:
            await client.close()
        await platform.stop()
        server.should_exit = True
        await asyncio.wait_for(task, 30)
