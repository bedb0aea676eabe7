"""Faults of a two-node cluster, with real processes: each node is a ``hyflex serve`` of its
own (so it can be killed, paused and stopped with signals), sharing a real PostgreSQL database
and a real Redis. After each fault: commands from clients on every node are accepted again,
nothing acknowledged is lost, nothing a client was told did not run is stored, the log's seq
stays gap-free with one writer."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from websockets.protocol import State

from server.domain.roles import Role
from server.realtime.core.event_log import WRITER_LOCK
from tests.cluster.participants import Participant
from tests.cluster.processes import REDIS_URL, SPEC, Cluster, Node, RedisServer, until
from tests.databases import PostgresFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
TTL = 1.5


@pytest.fixture
async def pg_url(postgres_factory: PostgresFactory) -> AsyncIterator[str]:
    name = await postgres_factory.create()
    try:
        yield postgres_factory.url_for(name)
    finally:
        await postgres_factory.drop(name)


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = await RedisServer.start(tmp_path)
    try:
        yield server
    finally:
        await server.stop()


async def _cluster(tmp_path: Path, pg_url: str, redis_url: str) -> tuple[Cluster, Node, Node]:
    cluster = Cluster(tmp_path, pg_url, redis_url, TTL)
    await cluster.seed()
    return cluster, await cluster.node("a"), await cluster.node("b")


def _people(
    cluster: Cluster, a: Node, b: Node, per_node: int
) -> tuple[Participant, list[Participant]]:
    demo = cluster.demo
    assert demo is not None
    teacher = Participant(cluster, demo.teacher.id or 0, Role.TEACHER, [a, b])
    students = [
        Participant(cluster, s.id or 0, Role.STUDENT, [a, b] if i % 2 == 0 else [b, a])
        for i, s in enumerate(demo.students[: 2 * per_node])
    ]
    return teacher, students


async def _open_poll(teacher: Participant, students: list[Participant]) -> int:
    """The teacher connects first (its node owns the session), then everyone else."""
    await teacher.connect()
    for s in students:
        await s.connect()
    opened = await teacher.command("poll.open", {"spec": SPEC})
    assert opened["type"] == "ack", opened
    assert teacher.client is not None
    frame = await teacher.client.wait_for(lambda f: f.get("type") == "poll.opened")
    poll_id: int = frame["data"]["poll_id"]
    return poll_id


def _answer(poll_id: int, choice: int) -> dict[str, Any]:
    return {"poll_id": poll_id, "answer": {"choices": [choice]}}


async def _check_log(cluster: Cluster, people: list[Participant]) -> list[dict[str, Any]]:
    """Every ack stands in the log at its seq; nothing a client was told did not run is
    stored; seq is 1..n without gap or reuse; each student's stored answer is the last one
    they were told was stored."""
    rows = await cluster.log_rows()
    seqs = [r["seq"] for r in rows]
    assert seqs == list(range(1, len(rows) + 1)), "seq has a gap or a reuse"
    by_id = {(r["actor_id"], r["client_msg_id"]): r for r in rows if r["client_msg_id"]}
    for p in people:
        for mid, (seq, _) in p.acked.items():
            row = by_id.get((p.user_id, mid))
            mine = [(r["seq"], r["client_msg_id"]) for r in rows if r["actor_id"] == p.user_id]
            assert row is not None or seq is None, f"acknowledged {mid} lost: {p.acked} {mine}"
            if row is not None:
                assert row["seq"] == seq, f"{mid} acknowledged at {seq}, stored at {row['seq']}"
        for mid in p.failed:
            assert (p.user_id, mid) not in by_id, f"{mid} was answered 'unavailable' yet stored"
        answers = [r for r in rows if r["type"] == "poll.answered" and r["actor_id"] == p.user_id]
        acked_answers = [d for mid, (_, d) in p.acked.items() if "answer" in d]
        if acked_answers:  # a single-choice answer is stored as the chosen index
            assert answers[-1]["data"]["value"] == acked_answers[-1]["answer"]["choices"][0]
    return rows


async def _tally(cluster: Cluster, node: Node, teacher: Participant) -> int:
    """The number of answers the poll counts, from a fresh teacher welcome."""
    client = await cluster.join(node, teacher.user_id, Role.TEACHER)
    total: int = client.welcome["snapshot"]["polls"][0]["results"]["total"]["answered"]
    return total


async def _holder(cluster: Cluster) -> set[int]:
    """The database backends holding the session's writer lease."""
    async with cluster.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid::bigint = :c AND objid::bigint = :s AND objsubid = 2"
            ),
            {"c": WRITER_LOCK, "s": cluster.session_id},
        )
        return {int(r[0]) for r in rows}


async def test_redis_stopped_and_restarted_empty(
    tmp_path: Path, pg_url: str, redis_server: RedisServer
) -> None:
    cluster, a, b = await _cluster(tmp_path, pg_url, redis_server.url)
    try:
        teacher, students = _people(cluster, a, b, per_node=2)
        poll_id = await _open_poll(teacher, students)
        for s in students:
            assert (await s.command("poll.answer", _answer(poll_id, 0)))["type"] == "ack"

        redis_server.signal(signal.SIGTERM)
        await redis_server.exited(10)
        # the owner's own clients are served meanwhile: the database decides who writes
        on_a, on_b = students[0], students[1]
        assert (await on_a.command("poll.answer", _answer(poll_id, 1)))["type"] == "ack"
        # a replica cannot reach the owner: its client is told so (not run), for the
        # whole of the forwarding deadline: the outage lasts at least that long
        refused = await on_b.command("poll.answer", _answer(poll_id, 1))
        assert refused["code"] == "unavailable"

        restarted = await RedisServer.start(tmp_path, port=redis_server.port)  # empty
        try:
            for s in students:  # every node accepts commands again, no node restarted
                done = await s.command("poll.answer", _answer(poll_id, 1), retry_unavailable=True)
                assert done["type"] == "ack", done
            # the replica's subscription is back: the owner's events reach b's clients
            asked = await teacher.command("qna.ask", {"text": "after the outage"})
            assert on_b.client is not None
            seen = await on_b.client.wait_for(lambda f: f.get("type") == "qna.asked")
            assert seen["seq"] == asked["seq"]
            assert on_b.reconnects == 0  # nobody was disconnected

            await _check_log(cluster, [teacher, *students])
            assert await _tally(cluster, b, teacher) == len(students)
            for node in (a, b):  # SIGTERM still stops the nodes, in bounded time
                node.signal(signal.SIGTERM)
            for node in (a, b):
                await node.exited(30)
        finally:
            await restarted.stop()
    finally:
        await cluster.close()


async def test_owner_killed_mid_poll(tmp_path: Path, pg_url: str) -> None:
    cluster, a, b = await _cluster(tmp_path, pg_url, REDIS_URL)
    try:
        teacher, students = _people(cluster, a, b, per_node=3)
        poll_id = await _open_poll(teacher, students)
        acks = asyncio.Event()

        async def keep_answering(s: Participant) -> None:
            for i in range(8):
                await s.command("poll.answer", _answer(poll_id, i % 2))
                if sum(len(p.acked) for p in students) >= 2 * len(students):
                    acks.set()

        answering = [asyncio.create_task(keep_answering(s)) for s in students]
        await asyncio.wait_for(acks.wait(), 30)
        a.signal(signal.SIGKILL)  # mid-poll: commands in flight on both nodes
        await asyncio.wait_for(asyncio.gather(*answering), 90)

        # every client resumed (a's on b) and their commands were accepted there
        for s in students:
            assert (await s.command("poll.answer", _answer(poll_id, 1)))["type"] == "ack"
        rows = await _check_log(cluster, [teacher, *students])
        assert await _tally(cluster, b, teacher) == len(students)
        stored_acks = sum(1 for s in students for seq, _ in s.acked.values() if seq is not None)
        assert stored_acks == sum(1 for r in rows if r["type"] == "poll.answered")
    finally:
        await cluster.close()


async def test_owner_paused_twice_the_lease_then_resumed(tmp_path: Path, pg_url: str) -> None:
    cluster, a, b = await _cluster(tmp_path, pg_url, REDIS_URL)
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        teacher, students = _people(cluster, a, b, per_node=2)
        poll_id = await _open_poll(teacher, students)
        for s in students:
            assert (await s.command("poll.answer", _answer(poll_id, 0)))["type"] == "ack"
        writer = await _holder(cluster)
        assert len(writer) == 1

        owner_key = f"{cluster.env['HYFLEX_REDIS_PREFIX']}:owner:{cluster.session_id}"
        paused_at = time.monotonic()
        a.signal(signal.SIGSTOP)

        async def lease_long_gone() -> bool:
            return await redis.get(owner_key) is None and time.monotonic() - paused_at > 2 * TTL

        await until(lease_long_gone, 30, "the Redis claim expired, twice the lease passed")
        on_b = students[1]
        refused = await on_b.command("poll.answer", _answer(poll_id, 1))
        assert refused["code"] == "unavailable"  # nobody else wrote meanwhile
        assert await _holder(cluster) == writer  # b did not take over from the paused writer
        a.signal(signal.SIGCONT)

        for s in students:
            done = await s.command("poll.answer", _answer(poll_id, 1), retry_unavailable=True)
            assert done["type"] == "ack", done
        # one writer: a again, or b if a found its lease in doubt on waking and let it go
        assert len(await _holder(cluster)) == 1
        rows = await _check_log(cluster, [teacher, *students])
        assert await _tally(cluster, a, teacher) == len(students)
        stored_acks = sum(1 for s in students for seq, _ in s.acked.values() if seq is not None)
        assert stored_acks == sum(1 for r in rows if r["type"] == "poll.answered")
    finally:
        await redis.aclose()
        await cluster.close()


async def test_sigterm_drains_one_node(tmp_path: Path, pg_url: str) -> None:
    cluster, a, b = await _cluster(tmp_path, pg_url, REDIS_URL)
    try:
        teacher, students = _people(cluster, a, b, per_node=2)
        poll_id = await _open_poll(teacher, students)
        for s in students:
            assert (await s.command("poll.answer", _answer(poll_id, 0)))["type"] == "ack"
        on_a = [teacher, *students[0::2]]
        on_b = students[1::2]

        a.signal(signal.SIGTERM)
        for p in on_a:  # a's clients are told to resume elsewhere
            assert p.client is not None
            assert await p.client.closed_with(within=15) == 1012
        await a.exited(30)  # a bounded shutdown
        for p in on_a:
            last = p.client.last_seq if p.client is not None else 0
            client = await p.connect()
            assert client.welcome["last_seq"] >= last
        for p in on_b:  # b's clients were never disconnected
            assert p.client is not None and p.client.ws.state is State.OPEN
            assert (await p.command("poll.answer", _answer(poll_id, 1)))["type"] == "ack"
            assert p.reconnects == 0
        closing = await teacher.command("poll.close", {"poll_id": poll_id})
        assert closing["type"] == "ack"
        for p in on_b:
            assert p.client is not None
            closed = await p.client.wait_for(lambda f: f.get("type") == "poll.closed")
            assert closed["seq"] == closing["seq"]
        await _check_log(cluster, [teacher, *students])
    finally:
        await cluster.close()
