"""Real processes for the cluster fault tests: ``hyflex serve`` nodes (one OS process each, so
they can be killed, paused and stopped with signals), a Redis server of the test's own (to stop
and restart it), and the database they share (a fresh PostgreSQL database seeded with the demo).
Everything listens on loopback ports picked free by the system."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from server.auth.tokens import TokenSigner
from server.db.engine import make_engine, make_sessionmaker
from server.demo import DemoConsortium, seed_demo
from server.domain.roles import Role
from tests.conftest import TEST_SECRET
from tests.live_server import WsClient

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("HYFLEX_TEST_REDIS_URL", "redis://127.0.0.1:6390/0")
SPEC = {"kind": "single", "prompt": "Pick", "options": ["a", "b"], "correct": {"choices": [1]}}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def until(
    check: Callable[[], Awaitable[bool]], within: float, what: str, every: float = 0.05
) -> float:
    """Poll observable state until ``check`` holds; the seconds it took. Bounded in time."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(every)  # polling observable state, bounded above
    return time.monotonic() - started


@dataclass
class Process:
    proc: asyncio.subprocess.Process
    log_path: Path

    def signal(self, sig: int) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)

    async def exited(self, within: float) -> int:
        return await asyncio.wait_for(self.proc.wait(), within)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


class RedisServer(Process):
    """A Redis of the test's own that starts empty every time (no persistence)."""

    port: int

    @classmethod
    async def start(cls, tmp: Path, port: int | None = None) -> RedisServer:
        port = port or free_port()
        log_path = tmp / f"redis-{port}-{uuid.uuid4().hex[:6]}.log"
        proc = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(tmp),
            stdout=log_path.open("wb"),
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        server = cls(proc, log_path)
        server.port = port

        async def answers() -> bool:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return True
            return False

        await until(answers, 10, "redis-server answers")
        return server

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class Node(Process):
    port: int
    name: str

    @classmethod
    async def start(cls, tmp: Path, name: str, env: dict[str, str]) -> Node:
        port = free_port()
        data = tmp / name
        data.mkdir(exist_ok=True)
        log_path = tmp / f"{name}.log"
        full = {
            **os.environ,
            **env,
            "PYTHONPATH": str(ROOT),
            "HYFLEX_DATA_DIR": str(data),
            "HYFLEX_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "HYFLEX_SECRET_KEY": TEST_SECRET,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "serve",
            "--port", str(port), "--no-migrate", "--log-level", "warning",
            stdout=log_path.open("wb"),
            stderr=asyncio.subprocess.STDOUT,
            env=full,
            cwd=str(ROOT),
        )  # fmt: skip
        node = cls(proc, log_path)
        node.port, node.name = port, name

        async def up() -> bool:
            if proc.returncode is not None:
                raise AssertionError(f"node {name} exited: {node.output()}")
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient(timeout=2) as http:
                    return (await http.get(f"{node.base}/api/protocol")).status_code == 200
            return False

        await until(up, 60, f"node {name} serves", every=0.2)
        return node

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, session_id: int) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/sessions/{session_id}"


class Cluster:
    """Nodes of one test: a shared database and Redis prefix, the demo, websocket clients."""

    def __init__(self, tmp: Path, database_url: str, redis_url: str, ttl: float) -> None:
        self.tmp = tmp
        self.database_url = database_url
        self.env = {
            "HYFLEX_DATABASE_URL": database_url,
            "HYFLEX_REDIS_URL": redis_url,
            "HYFLEX_REDIS_PREFIX": f"t{uuid.uuid4().hex[:10]}",
            "HYFLEX_CLUSTER_TTL_SECONDS": str(ttl),
            "HYFLEX_WS_RATE_PER_SECOND": "200",
            "HYFLEX_WS_RATE_BURST": "400",
            "HYFLEX_PRESENCE_GRACE_SECONDS": "30",
        }
        self.nodes: list[Node] = []
        self.clients: list[WsClient] = []
        self.signer = TokenSigner(TEST_SECRET)
        self.engine = make_engine(database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.demo: DemoConsortium | None = None

    async def seed(self) -> DemoConsortium:
        self.demo = await seed_demo(self.sessions)
        return self.demo

    @property
    def session_id(self) -> int:
        assert self.demo is not None
        return self.demo.session.id or 0

    async def node(self, name: str) -> Node:
        node = await Node.start(self.tmp, name, self.env)
        self.nodes.append(node)
        return node

    def token(self, user_id: int | None, role: Role) -> str:
        issued: str = self.signer.issue(
            user_id=user_id or 0, role=role, typ="access", now=time.time(), ttl_seconds=600
        )
        return issued

    async def join(
        self, node: Node, user_id: int | None, role: Role, last_seq: int | None = None
    ) -> WsClient:
        client = await WsClient.open(
            node.ws_url(self.session_id), self.token(user_id, role), last_seq
        )
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 5)
        for node in self.nodes:
            await node.stop()
        await self.engine.dispose()

    async def log_rows(self) -> list[dict[str, Any]]:
        """The session's stored events (seq, type, actor, message id, data)."""
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT seq, type, actor_id, client_msg_id, data FROM session_event"
                    " WHERE session_id = :s ORDER BY seq"
                ),
                {"s": self.session_id},
            )
            return [dict(r._mapping) for r in rows]
