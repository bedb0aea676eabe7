"""Cluster benchmark: broadcast latency with students on one node vs spread over two, and the
time until commands are accepted again after each fault (docs/scale-out.md).

Every node is a ``hyflex serve`` process on loopback sharing a fresh PostgreSQL database
(``HYFLEX_TEST_POSTGRES_URL``) and a Redis (``HYFLEX_TEST_REDIS_URL``; the Redis-restart part
starts its own ``redis-server``). The node helpers are the fault tests' (tests/cluster).

    PYTHONPATH=$PWD .venv/bin/python bench/cluster.py [--students 40] [--broadcasts 40]

Broadcast: the teacher opens and closes polls at 5 a second (``poll.opened`` /
``poll.closed`` are logged and go to the whole session); latency is each student's receive
time minus the event's ``at`` (stamped before it is stored). "one node": every student
on the owner; "two nodes": half on the owner, half on the other node (their frames come through
Redis). Rounds alternate A B A B. Faults (default ``HYFLEX_CLUSTER_TTL_SECONDS`` = 15): seconds
from the fault (or its end) until a command sent by a client on each node is acknowledged,
resending with the same id as the web client does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.domain.roles import Role  # noqa: E402
from tests.cluster.participants import Participant  # noqa: E402
from tests.cluster.processes import (  # noqa: E402
    REDIS_URL,
    SPEC,
    Cluster,
    Node,
    RedisServer,
    until,
)
from tests.databases import PostgresFactory  # noqa: E402
from tests.live_server import WsClient  # noqa: E402

TTL = 15.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _with_seq(seq: Any) -> Any:
    return lambda frame: frame.get("seq") == seq


async def broadcast_round(
    cluster: Cluster,
    teacher: WsClient,
    a: Node,
    b: Node,
    students: int,
    broadcasts: int,
    spread: bool,
) -> list[float]:
    """The teacher (on the owner) opens and closes polls (``poll.opened`` / ``poll.closed`` go
    to everyone and are logged); each student's receive time minus the event's ``at``."""
    assert cluster.demo is not None
    listeners: list[WsClient] = []
    for i, s in enumerate(cluster.demo.students[:students]):
        node = b if spread and i % 2 == 1 else a
        listeners.append(await cluster.join(node, s.id, Role.STUDENT))
    latencies: list[float] = []

    async def listen(client: WsClient, expected: int) -> None:
        got = 0
        while got < expected:
            frame = await client.recv(30)
            if frame.get("type") in ("poll.opened", "poll.closed"):
                latencies.append((time.time() - float(frame["at"])) * 1000)
                got += 1

    readers = [asyncio.create_task(listen(c, broadcasts)) for c in listeners]
    poll_id = 0
    for i in range(broadcasts):
        if i % 2 == 0:
            reply = await teacher.call("poll.open", {"spec": SPEC})
            opened = await teacher.wait_for(_with_seq(reply.get("seq")))
            poll_id = opened["data"]["poll_id"]
        else:
            reply = await teacher.call("poll.close", {"poll_id": poll_id})
        assert reply["type"] == "ack", reply
        await asyncio.sleep(0.2)  # the pace: 5 broadcasts a second
    await asyncio.wait_for(asyncio.gather(*readers), 60)
    for c in listeners:
        await c.close()
    return latencies


async def accepted_again(p: Participant, poll_id: int, choice: int) -> float:
    started = time.monotonic()
    reply = await p.command(
        "poll.answer",
        {"poll_id": poll_id, "answer": {"choices": [choice]}},
        retry_unavailable=True,
        within=120,
    )
    assert reply["type"] == "ack", reply
    return time.monotonic() - started


async def faults(tmp: Path, pg: PostgresFactory) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}

    async def setup(
        redis_url: str, name: str
    ) -> tuple[Cluster, Node, Node, list[Participant], int]:
        db = await pg.create()
        cluster = Cluster(tmp / name, pg.url_for(db), redis_url, TTL)
        (tmp / name).mkdir()
        demo = await cluster.seed()
        a, b = await cluster.node("a"), await cluster.node("b")
        teacher = Participant(cluster, demo.teacher.id or 0, Role.TEACHER, [a, b])
        on_a = Participant(cluster, demo.students[0].id or 0, Role.STUDENT, [a, b])
        on_b = Participant(cluster, demo.students[1].id or 0, Role.STUDENT, [b, a])
        await teacher.connect()
        await on_a.connect()
        await on_b.connect()
        await teacher.command("poll.open", {"spec": SPEC})
        assert teacher.client is not None
        poll_id = (await teacher.client.wait_for(lambda f: f.get("type") == "poll.opened"))["data"][
            "poll_id"
        ]
        return cluster, a, b, [teacher, on_a, on_b], poll_id

    # Redis stopped for 5 s, restarted empty
    redis = await RedisServer.start(tmp)
    cluster, _a, _b, (_, on_a, on_b), poll_id = await setup(redis.url, "redis")
    try:
        redis.signal(signal.SIGTERM)
        await redis.exited(10)
        await asyncio.sleep(5)  # the outage itself
        redis = await RedisServer.start(tmp, port=redis.port)
        t_a, t_b = await asyncio.gather(
            accepted_again(on_a, poll_id, 1), accepted_again(on_b, poll_id, 1)
        )
        out["redis_restart"] = {"node_a_s": t_a, "node_b_s": t_b}
    finally:
        await cluster.close()
        await redis.stop()

    # kill -9 of the owner
    cluster, a, _b, (_, on_a, on_b), poll_id = await setup(REDIS_URL, "kill")
    try:
        a.signal(signal.SIGKILL)
        t_a, t_b = await asyncio.gather(
            accepted_again(on_a, poll_id, 1), accepted_again(on_b, poll_id, 1)
        )
        out["kill9_owner"] = {"client_of_a_s": t_a, "client_of_b_s": t_b}
    finally:
        await cluster.close()

    # the owner paused for twice the lease, then resumed
    cluster, a, _b, (_, on_a, on_b), poll_id = await setup(REDIS_URL, "stop")
    try:
        a.signal(signal.SIGSTOP)
        paused = time.monotonic()

        async def long_enough() -> bool:
            return time.monotonic() - paused > 2 * TTL

        await until(long_enough, 3 * TTL, "twice the lease", every=0.5)
        a.signal(signal.SIGCONT)
        t_a, t_b = await asyncio.gather(
            accepted_again(on_a, poll_id, 1), accepted_again(on_b, poll_id, 1)
        )
        out["sigstop_owner_after_sigcont"] = {"node_a_s": t_a, "node_b_s": t_b}
    finally:
        await cluster.close()

    # SIGTERM of the owner: its clients resume on the other node
    cluster, a, _b, (_, on_a, on_b), poll_id = await setup(REDIS_URL, "term")
    try:
        started = time.monotonic()
        a.signal(signal.SIGTERM)
        assert on_a.client is not None
        await on_a.client.closed_with(within=30)
        await on_a.connect()
        resumed = time.monotonic() - started
        t_a, t_b = await asyncio.gather(
            accepted_again(on_a, poll_id, 1), accepted_again(on_b, poll_id, 1)
        )
        await a.exited(60)
        out["sigterm_owner"] = {
            "client_of_a_resumed_s": resumed,
            "client_of_a_ack_s": resumed + t_a,
            "client_of_b_ack_s": t_b,
            "exit_s": time.monotonic() - started,
            "client_of_b_reconnects": float(on_b.reconnects),
        }
    finally:
        await cluster.close()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--broadcasts", type=int, default=40)
    args = parser.parse_args()
    pg = PostgresFactory()
    created: list[str] = []
    create = pg.create

    async def tracked() -> str:
        name = await create()
        created.append(name)
        return name

    pg.create = tracked  # type: ignore[method-assign]
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        try:
            db = await pg.create()
            cluster = Cluster(tmp / "bcast", pg.url_for(db), REDIS_URL, TTL)
            (tmp / "bcast").mkdir()
            await cluster.seed()
            try:
                a, b = await cluster.node("a"), await cluster.node("b")
                assert cluster.demo is not None
                owner = await cluster.join(a, cluster.demo.teacher.id, Role.TEACHER)  # a owns
                rounds: dict[str, list[float]] = {"one_node": [], "two_nodes": []}
                for spread in (False, True, False, True):
                    lat = await broadcast_round(
                        cluster, owner, a, b, args.students, args.broadcasts, spread
                    )
                    rounds["two_nodes" if spread else "one_node"] += lat
                await owner.close()
            finally:
                await cluster.close()
            for name, lat in rounds.items():
                result[name] = {
                    "p50_ms": round(statistics.median(lat), 1),
                    "p99_ms": round(pct(lat, 0.99), 1),
                    "deliveries": len(lat),
                }
                print(
                    f"broadcast {name}: p50 {result[name]['p50_ms']} ms, "
                    f"p99 {result[name]['p99_ms']} ms ({len(lat)} deliveries)"
                )
            for fault, figures in (await faults(tmp, pg)).items():
                result[fault] = {k: round(v, 2) for k, v in figures.items()}
                print(f"{fault}: {result[fault]}")
        finally:
            for name in created:
                await pg.drop(name)
            await pg.drop_template()
    print(json.dumps({"bench": "cluster", **result}))


if __name__ == "__main__":
    asyncio.run(main())
