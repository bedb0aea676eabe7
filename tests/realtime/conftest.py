"""A running server with the demo consortium, and signed-in participants."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from server.demo import DemoConsortium, seed_demo
from server.domain.roles import Role
from server.settings import Settings
from tests.live_server import LiveServer, WsClient, start_server


@dataclass
class Class:
    server: LiveServer
    demo: DemoConsortium
    settings: Settings
    clients: list[WsClient] = field(default_factory=list)

    @property
    def session_id(self) -> int:
        assert self.demo.session.id is not None
        return self.demo.session.id

    def token(self, user_id: int, role: Role, scope: int | None = None) -> str:
        signer = self.server.app.state.services.signer
        return str(
            signer.issue(
                user_id=user_id,
                role=role,
                typ="access",
                now=time.time(),
                ttl_seconds=3600,
                session_id=scope,
            )
        )

    async def join(self, user_id: int, role: Role, last_seq: int | None = None) -> WsClient:
        client = await WsClient.open(
            self.server.ws_url(self.session_id), self.token(user_id, role), last_seq
        )
        self.clients.append(client)
        return client

    async def teacher(self) -> WsClient:
        return await self.join(self.demo.teacher.id or 0, Role.TEACHER)

    async def facilitator(self, index: int = 0) -> WsClient:
        return await self.join(self.demo.facilitators[index].id or 0, Role.FACILITATOR)

    async def student(self, index: int = 0, last_seq: int | None = None) -> WsClient:
        return await self.join(self.demo.students[index].id or 0, Role.STUDENT, last_seq)

    async def restart(self) -> None:
        await self.server.stop()
        self.server = await start_server(self.settings)


@pytest.fixture
async def klass(settings: Settings) -> AsyncIterator[Class]:
    settings.ws_rate_per_second = 200
    settings.ws_rate_burst = 400
    server = await start_server(settings)
    demo = await seed_demo(server.app.state.services.sessions)
    k = Class(server, demo, settings)
    try:
        yield k
    finally:
        for client in k.clients:
            await client.close()
        await k.server.stop()
