"""``hyflex serve --workers 2`` as a real process: two nodes on consecutive ports sharing
PostgreSQL and Redis, one live session used from both; a node that dies is restarted; SIGTERM
stops them all."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from server.auth.tokens import TokenSigner
from server.db.engine import make_engine, make_sessionmaker
from server.demo import seed_demo
from server.domain.roles import Role
from tests.conftest import TEST_SECRET
from tests.databases import PostgresFactory
from tests.live_server import WsClient
from tests.turn_server import _free_range

REDIS_URL = os.environ.get("HYFLEX_TEST_REDIS_URL", "redis://127.0.0.1:6390/0")
ROOT = Path(__file__).resolve().parents[2]
SPEC = {"kind": "single", "prompt": "Pick", "options": ["a", "b"], "correct": {"choices": [1]}}


async def ready(port: int, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no node ready on port {port}")
            await asyncio.sleep(0.2)


def refuses(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.TransportError:
        return True
    return False


def hyflex(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def start_supervisor(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    argv = ["serve", "--port", str(port), "--workers", "2", "--log-level", "warning"]
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", *argv],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def test_workers_serve_one_session_from_two_processes(
    tmp_path: Path, postgres_factory: PostgresFactory
) -> None:
    name = await postgres_factory.create()
    url = postgres_factory.url_for(name)
    engine = make_engine(url)
    port = _free_range(2)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HYFLEX_DATABASE_URL": url,
        "HYFLEX_REDIS_URL": REDIS_URL,
        "HYFLEX_REDIS_PREFIX": f"t{uuid.uuid4().hex[:10]}",
        "HYFLEX_CLUSTER_TTL_SECONDS": "2",
        "HYFLEX_SECRET_KEY": TEST_SECRET,
        "HYFLEX_DATA_DIR": str(tmp_path / "data"),
        "HYFLEX_HOST": "127.0.0.1",
    }
    # refused plainly where it cannot work
    no_redis = {k: v for k, v in env.items() if k != "HYFLEX_REDIS_URL"}
    refused = hyflex(no_redis, "serve", "--port", str(port), "--workers", "2")
    assert refused.returncode == 2 and "HYFLEX_REDIS_URL" in refused.stderr

    supervisor = start_supervisor(env, port)
    clients: list[WsClient] = []
    try:
        await asyncio.gather(ready(port), ready(port + 1))
        demo = await seed_demo(make_sessionmaker(engine))
        sid = demo.session.id or 0
        signer = TokenSigner(TEST_SECRET)

        def token(user_id: int | None, role: Role) -> str:
            return str(
                signer.issue(
                    user_id=user_id or 0, role=role, typ="access", now=time.time(), ttl_seconds=600
                )
            )

        ws = f"ws://127.0.0.1:{{}}/ws/sessions/{sid}"
        teacher = await WsClient.open(ws.format(port), token(demo.teacher.id, Role.TEACHER))
        student = await WsClient.open(
            ws.format(port + 1), token(demo.students[0].id, Role.STUDENT)
        )
        clients += [teacher, student]
        opened = await teacher.ok("poll.open", {"spec": SPEC})
        seen = await student.wait_for(lambda f: f.get("type") == "poll.opened")
        assert seen["seq"] == opened["seq"]
        answer = {"poll_id": seen["data"]["poll_id"], "answer": {"choices": [1]}}
        assert (await student.ok("poll.answer", answer))["seq"] > opened["seq"]

        # a node killed outright is started again on its port
        pids = children(supervisor.pid)
        assert len(pids) == 2
        os.kill(pids[1], signal.SIGKILL)
        await ready(port + 1)
        again = children(supervisor.pid)
        assert pids[1] not in again and len(again) == 2

        # SIGTERM to the supervisor stops every node
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(60) == 0
        assert refuses(port) and refuses(port + 1)
        assert supervisor.stdout is not None
        out = supervisor.stdout.read()
        assert f"server 127.0.0.1:{port + 1} max_fails=2" in out
    finally:
        for client in clients:
            await client.close()
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait(10)
        await engine.dispose()
        await postgres_factory.drop(name)
