"""deploy/nginx/hyflex.conf with the real nginx: checked by ``nginx -t``, then carrying a
lesson over TLS to two real server nodes sharing PostgreSQL and Redis: sign-in and REST calls,
websockets (hello, poll, answer), a media signalling exchange, and session-affine routing
(every connection of a session lands on one node, so it has no read-only copies)."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiortc import RTCSessionDescription

from server.demo import DEMO_PASSWORD, seed_demo
from server.settings import Settings
from streaming.loopback import restore_host_addresses, use_loopback_only
from tests.databases import PostgresFactory
from tests.deploy.nginx_proxy import NGINX, Proxy, check, prepare, running_nginx
from tests.live_server import LiveServer, WsClient, start_server
from tests.realtime.media.test_media_ws import offer_sdp, request

pytestmark = pytest.mark.skipif(
    shutil.which(NGINX) is None and not Path(NGINX).exists(),
    reason="nginx is not installed (deploy/test.sh installs Debian's nginx)",
)

REDIS_URL = os.environ.get("HYFLEX_TEST_REDIS_URL", "redis://127.0.0.1:6390/0")
SPEC = {"kind": "single", "prompt": "Pick", "options": ["a", "b"], "correct": {"choices": [1]}}


@pytest.fixture
async def database_url(postgres_factory: PostgresFactory) -> AsyncIterator[str]:
    """Two nodes share one PostgreSQL database, as in production."""
    name = await postgres_factory.create()
    try:
        yield postgres_factory.url_for(name)
    finally:
        await postgres_factory.drop(name)


@pytest.fixture(autouse=True)
def loopback_ice() -> Iterator[None]:
    use_loopback_only()
    yield
    restore_host_addresses()


def holders(nodes: list[LiveServer], session_id: int) -> list[tuple[int, bool]]:
    """(node index, is a read-only copy) for each node that has the session loaded."""
    out = []
    for index, node in enumerate(nodes):
        runtime = node.app.state.realtime._runtimes.get(session_id)
        if runtime is not None:
            out.append((index, runtime.is_replica))
    return out


async def test_the_proxy_config_carries_a_lesson_to_two_nodes(
    settings: Settings, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    nodes: list[LiveServer] = []
    for name in ("node-a", "node-b"):
        node_settings = settings.model_copy(
            update={
                "redis_url": REDIS_URL,
                "redis_prefix": prefix,
                "cluster_ttl_seconds": 1.5,
                "public_url": f"http://{name}.test",
                "ws_rate_per_second": 200.0,
                "ws_rate_burst": 400,
            }
        )
        nodes.append(await start_server(node_settings))
    clients: list[WsClient] = []
    pcs = []
    try:
        demo = await seed_demo(nodes[0].app.state.services.sessions)
        sid = demo.session.id or 0
        proxy = prepare(tmp_path / "nginx", [node.port for node in nodes])
        checked = check(proxy.prefix)
        assert checked.returncode == 0, checked.stderr
        assert "test is successful" in checked.stderr

        with running_nginx(proxy):
            await lesson(proxy, nodes, sid, demo.session.course_id, clients, pcs)
    finally:
        for pc in pcs:
            await pc.close()
        for client in clients:
            await client.close()
        for node in reversed(nodes):
            await node.stop()


async def lesson(
    proxy: Proxy,
    nodes: list[LiveServer],
    sid: int,
    course_id: int,
    clients: list[WsClient],
    pcs: list[object],
) -> None:
    tls = ssl.create_default_context(cafile=str(proxy.certificate))
    async with httpx.AsyncClient(base_url=proxy.base, verify=tls, timeout=20) as http:
        plain = await http.get(f"http://127.0.0.1:{proxy.http_port}/courses")
        assert plain.status_code == 301
        assert plain.headers["location"] == "https://127.0.0.1/courses"
        assert (await http.get("/metrics")).status_code == 404  # scraped per node, not here
        assert (await http.get("/healthz")).json()["ok"] is True

        login = await http.post(
            "/api/auth/login", json={"email": "teacher@demo.hyflex", "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.text
        staff = {"Authorization": f"Bearer {login.json()['access_token']}"}
        links = await http.post(f"/api/sessions/{sid}/join-links", headers=staff)
        assert links.status_code == 200, links.text
        joined = await http.post("/api/auth/join", json={"token": links.json()[0]["token"]})
        assert joined.status_code == 200, joined.text
        student_token = joined.json()["access_token"]

        # the lesson over wss through the proxy
        teacher = await WsClient.open(
            proxy.ws_url(sid), login.json()["access_token"], ssl=tls
        )
        student = await WsClient.open(proxy.ws_url(sid), student_token, ssl=tls)
        clients += [teacher, student]
        opened = await teacher.ok("poll.open", {"spec": SPEC})
        seen = await student.wait_for(lambda f: f.get("type") == "poll.opened")
        assert seen["seq"] == opened["seq"]
        answer = {"poll_id": seen["data"]["poll_id"], "answer": {"choices": [1]}}
        answered = await student.ok("poll.answer", answer)
        assert answered["seq"] > opened["seq"]
        await teacher.wait_for(lambda f: f.get("type") == "poll.tally")
        # every connection of the session landed on one node, its owner: no copies
        owner = holders(nodes, sid)
        assert len(owner) == 1 and owner[0][1] is False, owner
        where = await http.get(f"/api/sessions/{sid}/node", headers=staff)
        assert where.json()["url"] == nodes[owner[0][0]].app.state.services.settings.base_url

        # media signalling through the proxy: the owner's relay answers (no wrong_node)
        pc = await offer_sdp()
        pcs.append(pc)
        reply = await request(
            teacher, "media.publish", {"sdp": pc.localDescription.sdp}, "media.publish.answer"
        )
        assert reply["type"] == "media.publish.answer", reply
        await pc.setRemoteDescription(RTCSessionDescription(reply["data"]["sdp"], "answer"))
        connected = asyncio.Event()
        pc.on(
            "connectionstatechange",
            lambda: pc.connectionState == "connected" and connected.set(),
        )
        if pc.connectionState != "connected":
            await asyncio.wait_for(connected.wait(), 20)

        # more lessons of the course: the proxy spreads sessions over both nodes, each
        # session's REST calls and websockets on the same one
        used = {owner[0][0]}
        for n in range(10):
            made = await http.post(
                "/api/sessions",
                headers=staff,
                json={"course_id": course_id, "title": f"Extra lesson {n}"},
            )
            assert made.status_code == 201, made.text
            other = made.json()["id"]
            started = await http.post(f"/api/sessions/{other}/start", headers=staff)
            assert started.status_code == 200, started.text
            extra = await WsClient.open(proxy.ws_url(other), login.json()["access_token"], ssl=tls)
            clients.append(extra)
            await extra.ok("qna.ask", {"text": f"Hello from lesson {n}"})
            held = holders(nodes, other)
            assert len(held) == 1 and held[0][1] is False, held
            used.add(held[0][0])
            if used == {0, 1}:
                break
        assert used == {0, 1}, "ten sessions all hashed to one node"

        # the node of that last lesson stops: its clients are told to move (1012) and, back
        # through the proxy, land on the other node (nginx passes over the refused node)
        gone = held[0][0]
        await nodes[gone].stop()
        assert await extra.closed_with(within=15) == 1012
        back = await WsClient.open(
            proxy.ws_url(other), login.json()["access_token"], last_seq=extra.last_seq, ssl=tls
        )
        clients.append(back)
        await back.ok("qna.ask", {"text": "Still here"})
        assert holders(nodes, other) == [(1 - gone, False)]
