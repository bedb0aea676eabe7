"""Load generator for ``bench/lesson_capacity.py``: one lesson's websocket side.

A teacher and N students on the HyFlex protocol (``websockets`` clients). The teacher starts
the session and opens a poll every ``poll_every`` seconds (closing the previous one); each
student sends attention and media telemetry every ``telemetry_every`` seconds (each student at
its own phase) and answers every poll it sees. Latency: from a command's send to its ``ack``
(every command, teacher's and students'), in a 0.1 ms histogram.

Control: one JSON command per stdin line (``connect``, ``run``), one JSON reply per stdout
line. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import sys
import time
from typing import Any

import websockets

POLL_SPEC = {"kind": "single", "prompt": "Which force?", "options": ["gravity", "friction"]}


class Stats:
    def __init__(self) -> None:
        self.hist: dict[int, int] = {}
        self.acks = 0
        self.errors: dict[str, int] = {}
        self.answers = 0

    def record(self, seconds: float) -> None:
        bucket = int(seconds * 10_000)
        self.hist[bucket] = self.hist.get(bucket, 0) + 1
        self.acks += 1


class Person:
    def __init__(self, token: str, stats: Stats, url: str) -> None:
        self.token, self.stats, self.url = token, stats, url
        self.ws: Any = None
        self.sent: dict[str, float] = {}
        self.ids = itertools.count()
        self.polls: list[int] = []
        self.reader: asyncio.Task[None] | None = None
        self.welcomed = asyncio.Event()

    async def connect(self) -> None:
        self.ws = await websockets.connect(self.url, max_size=2**22)
        await self.ws.send(json.dumps({"type": "hello", "data": {"token": self.token}}))
        self.reader = asyncio.get_running_loop().create_task(self.read())
        await asyncio.wait_for(self.welcomed.wait(), 30)

    async def command(self, kind: str, data: dict[str, Any]) -> None:
        key = f"{kind}-{next(self.ids)}"
        self.sent[key] = time.perf_counter()
        await self.ws.send(json.dumps({"type": kind, "id": key, "data": data}))

    async def read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "welcome":
                    self.welcomed.set()
                elif kind in ("ack", "error"):
                    started = self.sent.pop(message.get("id"), None)
                    if started is not None:
                        self.stats.record(time.perf_counter() - started)
                    if kind == "error":
                        code = str(message.get("code"))
                        self.stats.errors[code] = self.stats.errors.get(code, 0) + 1
                elif kind == "poll.opened":
                    self.on_poll(message["data"])

    def on_poll(self, data: dict[str, Any]) -> None:
        poll_id = data.get("poll_id") or data.get("id") or data.get("poll", {}).get("id")
        if isinstance(poll_id, int):
            self.polls.append(poll_id)


class Student(Person):
    def on_poll(self, data: dict[str, Any]) -> None:
        super().on_poll(data)
        answer = {"poll_id": self.polls[-1], "answer": {"choices": [random.randrange(2)]}}
        delay = random.uniform(2.0, 20.0)  # people take a while to answer
        asyncio.get_running_loop().call_later(delay, self._answer, answer)

    def _answer(self, answer: dict[str, Any]) -> None:
        self.stats.answers += 1
        asyncio.get_running_loop().create_task(self.command("poll.answer", answer))

    async def telemetry(self, seconds: float, every: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        await asyncio.sleep(random.uniform(0, every))  # students are not in step
        while loop.time() < end:
            await self.command("engagement.attention", {"visible": True, "focused": True})
            await self.command("engagement.media", {"loss_fraction": 0.0, "rtt_ms": 20.0})
            await asyncio.sleep(every)  # the client's telemetry period


async def teach(teacher: Person, seconds: float, poll_every: float) -> int:
    loop = asyncio.get_running_loop()
    end, polls = loop.time() + seconds, 0
    await asyncio.sleep(1.0)
    while loop.time() < end:
        if teacher.polls:
            await teacher.command("poll.close", {"poll_id": teacher.polls[-1]})
        await teacher.command("poll.open", {"spec": POLL_SPEC})
        polls += 1
        await asyncio.sleep(min(poll_every, max(0.0, end - loop.time())))  # the poll period
    return polls


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    stats = Stats()
    teacher: Person | None = None
    students: list[Student] = []
    for _ in range(100):  # bounded: a run sends a handful of commands
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        reply: dict[str, Any]
        try:
            if cmd["cmd"] == "connect":
                teacher = Person(cmd["teacher"], Stats(), cmd["url"])
                await teacher.connect()
                await teacher.command("session.start", {})
                students = [Student(t, stats, cmd["url"]) for t in cmd["students"]]
                for group in range(0, len(students), 20):
                    await asyncio.gather(*(s.connect() for s in students[group : group + 20]))
                reply = {"connected": len(students) + 1}
            elif cmd["cmd"] == "run":
                assert teacher is not None
                stats.__init__()  # type: ignore[misc]
                seconds = float(cmd["seconds"])
                polls, *_ = await asyncio.gather(
                    teach(teacher, seconds, float(cmd["poll_every"])),
                    *(s.telemetry(seconds, float(cmd["telemetry_every"])) for s in students),
                )
                await asyncio.sleep(1.0)  # the last acks in flight
                reply = {
                    "hist": stats.hist, "acks": stats.acks, "errors": stats.errors,
                    "answers": stats.answers, "polls": polls,
                    "teacher_errors": teacher.stats.errors,
                }  # fmt: skip
            elif cmd["cmd"] == "quit":
                break
            else:
                reply = {"error": f"unknown command {cmd['cmd']!r}"}
        except Exception as exc:  # reported to the driver, which fails the run
            reply = {"error": repr(exc)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    for person in [*students, *([teacher] if teacher else [])]:
        if person.ws is not None:
            await person.ws.close()


if __name__ == "__main__":
    asyncio.run(main())
