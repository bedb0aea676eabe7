"""The web client (client_web/js/protocol.js in Chromium) follows a session that moves to
another node and resends its waiting command there with the same id.

Two nodes share PostgreSQL and Redis behind one origin: a plain TCP forwarder on a loopback
port stands in for the front proxy (it sends new connections to the node it is pointed at, as
the proxy does when a node leaves). The owner node is stopped (drained): the page is told
"moved" (1012), asks ``GET /api/sessions/{id}/node``, reconnects, and the command it sent while
away is stored once, acknowledged with its seq."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright
from sqlalchemy import text

from server.demo import seed_demo
from server.domain.roles import Role
from server.settings import Settings
from tests.conftest import TEST_SECRET
from tests.databases import PostgresFactory
from tests.live_server import start_server

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis]
REDIS_URL = os.environ.get("HYFLEX_TEST_REDIS_URL", "redis://127.0.0.1:6390/0")
CHROMIUM = os.environ.get("HYFLEX_CHROMIUM", "/usr/bin/chromium")


class Forwarder:
    """Every new TCP connection goes to the port it currently points at."""

    def __init__(self) -> None:
        self.target = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def pg_url(postgres_factory: PostgresFactory) -> AsyncIterator[str]:
    name = await postgres_factory.create()
    try:
        yield postgres_factory.url_for(name)
    finally:
        await postgres_factory.drop(name)


async def test_web_client_follows_a_moved_session(pg_url: str, tmp_path: Path) -> None:
    proxy = Forwarder()
    origin = f"http://127.0.0.1:{await proxy.start()}"
    prefix = f"t{uuid.uuid4().hex[:10]}"

    def node_settings(name: str) -> Settings:
        return Settings(
            database_url=pg_url,
            data_dir=tmp_path / name,
            secret_key=TEST_SECRET,
            public_url=origin,  # one origin for every node, as behind the front proxy
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            cluster_ttl_seconds=1.5,
        )

    a = await start_server(node_settings("a"))
    b = await start_server(node_settings("b"))
    proxy.target = a.port
    try:
        demo = await seed_demo(a.app.state.services.sessions)
        session_id = demo.session.id or 0
        token = a.app.state.services.signer.issue(
            user_id=demo.students[0].id or 0,
            role=Role.STUDENT,
            typ="access",
            now=time.time(),
            ttl_seconds=600,
        )
        async with async_playwright() as pw:
            chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = await chromium.new_page()
                asked: list[str] = []
                page.on("request", lambda r: asked.append(r.url))
                await page.goto(f"{origin}/")
                await page.evaluate(
                    """async ([sessionId, token]) => {
                      const m = await import("/static/js/protocol.js");
                      const schema = await m.loadSchema();
                      window.statuses = [];
                      window.conn = new m.Connection({
                        schema, sessionId, token,
                        onStatus: (s) => window.statuses.push(s),
                      });
                      window.conn.connect();
                    }""",
                    [session_id, token],
                )
                await page.wait_for_function("() => window.conn.status === 'live'", timeout=15_000)
                assert b.app.state.realtime.loaded() == []  # a serves it, b has not seen it

                proxy.target = b.port  # the proxy sends new connections to b from now on
                stopping = asyncio.create_task(a.stop())  # a drains: its clients are moved
                await page.wait_for_function("() => window.conn.status !== 'live'", timeout=15_000)
                sent = await page.evaluate(
                    """() => {
                      window.sent = window.conn.send("qna.ask", {text: "sent while moving"});
                      return [...window.conn.pending.keys()][0];
                    }"""
                )
                seq = await page.evaluate("() => window.sent")
                await asyncio.wait_for(stopping, 60)
                welcomes = await page.evaluate("() => window.conn.welcomes")
                await page.evaluate("() => window.conn.stop()")
            finally:
                await chromium.close()
        assert isinstance(seq, int) and welcomes == 2
        assert f"{origin}/api/sessions/{session_id}/node" in asked  # it asked where to go
        assert b.app.state.realtime.loaded() == [session_id]
        async with b.app.state.services.engine.connect() as conn:
            rows = list(
                await conn.execute(
                    text("SELECT seq FROM session_event WHERE client_msg_id = :m"), {"m": sent}
                )
            )
        assert [r[0] for r in rows] == [seq]  # stored once, at the seq it was acknowledged with
    finally:
        await proxy.close()
        for node in (b, a):
            if not node.task.done():
                await node.stop()
