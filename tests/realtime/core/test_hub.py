"""The hub's send path: eager sends keep order with queued ones; slow clients overflow."""

from __future__ import annotations

import asyncio

from server.domain.events import EVERYONE, to_site_staff, to_user
from server.domain.roles import Actor, Role
from server.realtime.core.hub import Connection, SessionHub


class Socket:
    """Records frames; while ``paused`` is clear, a send suspends like a full TCP buffer."""

    def __init__(self, expect: int) -> None:
        self.sent: list[str] = []
        self.paused = asyncio.Event()
        self.paused.set()
        self.expect = expect
        self.all_sent = asyncio.Event()

    async def send(self, frame: str) -> None:
        await self.paused.wait()
        self.sent.append(frame)
        if len(self.sent) >= self.expect:
            self.all_sent.set()


async def writer(conn: Connection, socket: Socket, rounds: int, idle: asyncio.Event) -> None:
    """The gateway's writer loop, bounded, sending to ``socket``."""
    for _ in range(rounds):
        conn.idle = True
        idle.set()
        await conn.wake.wait()
        conn.idle = False
        conn.wake.clear()
        if conn.inflight is not None:
            inflight, conn.inflight = conn.inflight, None
            await inflight
        while conn.queue:
            await socket.send(conn.queue.popleft())


async def test_eager_sends_and_a_suspended_send_keep_order() -> None:
    socket = Socket(expect=4)
    conn = Connection(Actor(1, Role.STUDENT, 10), limit=100, sender=socket.send)
    idle = asyncio.Event()
    task = asyncio.create_task(writer(conn, socket, rounds=50, idle=idle))
    await asyncio.wait_for(idle.wait(), 5)  # the writer reaches its wait
    conn.push("a")
    assert socket.sent == ["a"]  # sent at once, no task woken
    assert not conn.wake.is_set()
    socket.paused.clear()  # the client's buffer fills up
    conn.push("b")  # starts, suspends: handed to the writer
    assert conn.inflight is not None
    conn.push("c")
    conn.push("d")
    assert list(conn.queue) == ["c", "d"]
    socket.paused.set()
    await asyncio.wait_for(socket.all_sent.wait(), 5)
    assert socket.sent == ["a", "b", "c", "d"]
    task.cancel()


async def test_a_client_too_far_behind_overflows() -> None:
    conn = Connection(Actor(1, Role.STUDENT, 10), limit=3)
    for i in range(4):
        conn.push(f"f{i}")
    assert conn.overflowed and not conn.queue
    conn.push("late")
    assert not conn.queue


async def test_audiences_reach_the_right_connections() -> None:
    hub = SessionHub()
    teacher = Connection(Actor(1, Role.TEACHER, None), 10)
    fac_a = Connection(Actor(2, Role.FACILITATOR, 10), 10)
    fac_b = Connection(Actor(3, Role.FACILITATOR, 20), 10)
    student = Connection(Actor(4, Role.STUDENT, 10), 10)
    for conn in (teacher, fac_a, fac_b, student):
        hub.add(conn)
    assert hub.publish("x", to_site_staff(10)) == 2
    assert list(teacher.queue) == ["x"] and list(fac_a.queue) == ["x"]
    assert not fac_b.queue and not student.queue
    assert hub.publish("y", to_user(4)) == 1 and list(student.queue) == ["y"]
    assert hub.publish("z", EVERYONE) == 4
    hub.remove(student)
    assert hub.publish("w", EVERYONE) == 3 and hub.user_connections(4) == 0
