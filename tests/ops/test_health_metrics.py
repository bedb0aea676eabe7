"""/healthz, /readyz and /metrics on real servers (uvicorn on loopback, real websockets, a
real Redis for the cluster case), and the ownership log lines of a claim, release and
takeover."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from server.demo import seed_demo
from server.domain.roles import Role
from server.settings import Settings
from tests.live_server import LiveServer, WsClient, start_server

REDIS_URL = os.environ.get("HYFLEX_TEST_REDIS_URL", "redis://127.0.0.1:6390/0")
SPEC = {"kind": "single", "prompt": "Pick", "options": ["a", "b"], "correct": {"choices": [1]}}


def sample(text: str, name: str, labels: str = "") -> float:
    """One sample's value from the Prometheus text format (0 when absent)."""
    pattern = rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def token_for(server: LiveServer, user_id: int | None, role: Role) -> str:
    return str(
        server.app.state.services.signer.issue(
            user_id=user_id or 0, role=role, typ="access", now=time.time(), ttl_seconds=600
        )
    )


async def test_health_readiness_and_metrics_of_one_node(settings: Settings) -> None:
    server = await start_server(settings)
    clients: list[WsClient] = []
    try:
        demo = await seed_demo(server.app.state.services.sessions)
        sid = demo.session.id or 0
        async with httpx.AsyncClient(base_url=server.base) as http:
            assert (await http.get("/healthz")).json()["ok"] is True
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {
                "database": "ok",
                "redis": "not configured",
                "sessions": "ok",
                "draining": "no",
            }
            before = (await http.get("/metrics")).text

            teacher = await WsClient.open(
                server.ws_url(sid), token_for(server, demo.teacher.id, Role.TEACHER)
            )
            student = await WsClient.open(
                server.ws_url(sid), token_for(server, demo.students[0].id, Role.STUDENT)
            )
            clients += [teacher, student]
            await teacher.ok("poll.open", {"spec": SPEC})
            opened = await student.wait_for(lambda f: f.get("type") == "poll.opened")
            answer = {"poll_id": opened["data"]["poll_id"], "answer": {"choices": [1]}}
            await student.ok("poll.answer", answer)
            bad = await student.call("poll.close", {"poll_id": opened["data"]["poll_id"]})
            assert bad["type"] == "error"

            after = await http.get("/metrics")
            assert after.headers["content-type"].startswith("text/plain")
            text = after.text
            assert sample(text, "hyflex_connections_open") - sample(
                before, "hyflex_connections_open"
            ) == 2
            assert sample(text, "hyflex_sessions_owned") == 1
            ok = '{outcome="ok"}'
            assert sample(text, "hyflex_command_seconds_count", ok) >= sample(
                before, "hyflex_command_seconds_count", ok
            ) + 2
            err = '{outcome="error"}'
            assert sample(text, "hyflex_command_seconds_count", err) >= 1
            assert sample(text, "hyflex_event_append_seconds_count") > sample(
                before, "hyflex_event_append_seconds_count"
            )
            for name in ("hyflex_relay_subscribers", "hyflex_relay_packets_sent_total"):
                assert re.search(rf"^{name} ", text, re.MULTILINE), name

            # the session's single writer dies: the node is no longer ready, and says why
            runtime = await server.app.state.realtime.runtime(sid)
            runtime._tasks[0].cancel()
            for _ in range(100):
                if not runtime.writer_alive():
                    break
                await asyncio.sleep(0.01)
            not_ready = await http.get("/readyz")
            assert not_ready.status_code == 503
            assert not_ready.json()["reasons"] == [f"sessions: writer stopped for session(s) {sid}"]
            assert (await http.get("/healthz")).status_code == 200  # alive, not ready
    finally:
        for client in clients:
            await client.close()
        await server.stop()


async def test_metrics_are_for_loopback_or_the_token(settings: Settings) -> None:
    """Through the app with a client address of another machine (nothing leaves loopback)."""
    server = await start_server(settings)  # a real app, started (lifespan) on loopback
    try:
        app = server.app
        outside = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=outside, base_url="http://hyflex.test") as http:
            refused = await http.get("/metrics")
            assert refused.status_code == 403
            assert "hyflex_" not in refused.text
            app.state.services.settings.metrics_token = SecretStr("scrape-me-0123456789")
            assert (await http.get("/metrics")).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await http.get("/metrics", headers=wrong)).status_code == 401
            right = {"Authorization": "Bearer scrape-me-0123456789"}
            allowed = await http.get("/metrics", headers=right)
            assert allowed.status_code == 200 and "hyflex_connections_open" in allowed.text
            assert (await http.get("/healthz")).status_code == 200  # health stays open
    finally:
        await server.stop()


def ownership_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "hyflex.ownership"
    ]


async def test_cluster_readiness_and_ownership_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hyflex.ownership")
    prefix = f"t{uuid.uuid4().hex[:10]}"

    def node(name: str) -> Settings:
        return settings.model_copy(
            update={
                "redis_url": REDIS_URL,
                "redis_prefix": prefix,
                "cluster_ttl_seconds": 1.5,
                "public_url": f"http://{name}.test",
            }
        )

    a = await start_server(node("node-a"))
    b = await start_server(node("node-b"))
    clients: list[WsClient] = []
    try:
        demo = await seed_demo(a.app.state.services.sessions)
        sid = demo.session.id or 0
        teacher = await WsClient.open(a.ws_url(sid), token_for(a, demo.teacher.id, Role.TEACHER))
        student = await WsClient.open(
            b.ws_url(sid), token_for(b, demo.students[0].id, Role.STUDENT)
        )  # b serves a copy
        clients += [teacher, student]
        await teacher.ok("qna.ask", {"text": "Before the owner stops"})
        node_a = a.app.state.realtime.cluster.node_id
        node_b = b.app.state.realtime.cluster.node_id
        async with httpx.AsyncClient(base_url=a.base) as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok"
        assert ownership_lines(caplog)[0] == {
            **ownership_lines(caplog)[0],
            "event": "claim",
            "session": sid,
            "node": node_a,
        }

        await a.stop()  # the owner lets go; b, serving a copy, takes over in place
        assert await teacher.closed_with(within=15) == 1012
        back = await WsClient.open(b.ws_url(sid), token_for(b, demo.teacher.id, Role.TEACHER))
        clients.append(back)
        await back.ok("qna.ask", {"text": "After the owner stopped"})  # b writes now
        await student.ok("hand.raise")  # b's own client was never disconnected
        events = [(line["event"], line["node"]) for line in ownership_lines(caplog)]
        assert ("release", node_a) in events
        assert ("takeover", node_b) in events
        takeover = next(line for line in ownership_lines(caplog) if line["event"] == "takeover")
        assert int(str(takeover["last_seq"])) > 0
    finally:
        for client in clients:
            await client.close()
        for server in (b, a):
            if not server.task.done():
                await server.stop()


async def test_readiness_follows_redis(settings: Settings, tmp_path: Path) -> None:
    """A Redis of the test's own: stopped, the node is not ready (and says why); back, it is."""
    port = free_port()

    def redis_server() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )

    redis = redis_server()
    await wait_listening(port)
    node = settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{port}/0", "redis_prefix": "ready"}
    )
    server = await start_server(node)
    try:
        async with httpx.AsyncClient(base_url=server.base) as http:
            assert (await http.get("/readyz")).status_code == 200
            redis.terminate()
            redis.wait(10)
            down = await http.get("/readyz")
            assert down.status_code == 503
            assert down.json()["reasons"][0].startswith("redis: unreachable")
            assert down.json()["checks"]["database"] == "ok"
            redis = redis_server()
            await wait_listening(port)
            for _ in range(50):  # the client reconnects on its next command
                if (await http.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await http.get("/readyz")).status_code == 200
    finally:
        await server.stop()
        redis.terminate()
        redis.wait(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_listening(port: int) -> None:
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")
