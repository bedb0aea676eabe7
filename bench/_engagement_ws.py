"""Explicit-signal latency over real websockets, for ``bench/engagement.py``.

A realistic class: the demo consortium plus enough enrolled students for ``students`` in all
(spread over the four sites and remote), a teacher and the four sites' facilitators, every one
a real websocket to a server in its own process (``_ws_server.py ours``, SQLite in a temp dir,
default engagement settings except a short ``confused_expiry_s`` for the expiry round).
Students send attention telemetry every 10 s (as the web client does) throughout.

Rounds of ``burst`` students at different sites pressing "I'm confused" at the same moment;
then half of them are marked "Seen" by the teacher and the other half withdraw, at the same
moment; a last round is left to expire. Measured in this (driver) process:
- press -> the ``engagement.explicit`` frame at the teacher and at the student's facilitator;
- Seen / withdraw -> the clearing frame at both;
- expiry -> its clearing frame, from the press's deadline (``since + confused_expiry_s``, the
  server's clock: same machine);
- leaks: explicit frames at another site's facilitator, or at a student about somebody else
  (must be 0; a student gets their own, for their button);
- the server's CPU seconds over the rounds (/proc).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import col, select
from websockets.asyncio.client import ClientConnection, connect

from bench._ws_proc import Proc, cpu_seconds, start_server
from bench._ws_seed import seed
from server.app import create_app
from server.auth.tokens import TokenSigner
from server.db.models import Enrolment, LiveSession, User
from server.domain.roles import Role
from server.settings import Settings

EXPIRY_S = 2.0
ATTENTION_EVERY_S = 10.0
WAIT_S = 10.0  # bound on any single wait for a frame
ROUND_GAP_S = 0.5  # between rounds, so that presses meet ticks, flushes and telemetry


@dataclass
class Client:
    """One participant's websocket; explicit frames are timed as they arrive."""

    name: str
    user_id: int
    site_id: int | None
    ws: ClientConnection
    counter: int = 0
    explicit: list[tuple[float, float, dict[str, Any]]] = field(default_factory=list)
    waiters: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    watch: dict[tuple[int, bool], asyncio.Future[float]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for raw in self.ws:
            perf, wall = time.perf_counter(), time.time()
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "engagement.explicit":
                data = frame["data"]
                self.explicit.append((perf, wall, data))
                waiter = self.watch.pop((data["user_id"], data["active"]), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(perf)
            elif kind in ("ack", "error", "welcome"):
                reply = self.waiters.pop(str(frame.get("id", "welcome")), None)
                if reply is not None and not reply.done():
                    reply.set_result(frame)

    def expect(self, user_id: int, active: bool) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.watch[(user_id, active)] = fut
        return fut

    async def post(self, type_: str, data: dict[str, Any]) -> str:
        """Send a command without waiting for its reply (telemetry)."""
        self.counter += 1
        msg_id = f"{self.name}-{self.counter}"
        await self.ws.send(json.dumps({"type": type_, "id": msg_id, "data": data}))
        return msg_id

    async def send(self, type_: str, data: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Send a command; a future of its ack or error."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[f"{self.name}-{self.counter + 1}"] = fut
        await self.post(type_, data)
        return fut


async def _open(url: str, token: str, name: str, user_id: int, site: int | None) -> Client:
    ws = await connect(url, open_timeout=WAIT_S, max_size=2**22)
    client = Client(name, user_id, site, ws)
    welcome: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    client.waiters["welcome"] = welcome
    client.reader = asyncio.create_task(client.read())
    await ws.send(json.dumps({"type": "hello", "data": {"token": token, "last_seq": None}}))
    await asyncio.wait_for(welcome, WAIT_S)
    return client


async def _people(settings: Settings) -> tuple[int, list[tuple[int, Role, int | None]]]:
    """The session, and (user id, role, site) of its teacher, facilitators and students."""
    app = create_app(settings)
    services = app.state.services
    try:
        async with services.sessions() as db:
            session = (await db.exec(select(LiveSession))).first()
            assert session is not None and session.id is not None
            staff = await db.exec(
                select(User.id, User.role, User.home_site_id).where(
                    col(User.role).in_([Role.TEACHER, Role.FACILITATOR])
                )
            )
            enrolled = await db.exec(
                select(Enrolment.student_id, Enrolment.site_id).where(
                    col(Enrolment.course_id) == session.course_id
                )
            )
            people = [(uid, Role(role), site) for uid, role, site in staff]
            people += [(uid, Role.STUDENT, site) for uid, site in enrolled]
            return session.id, people
    finally:
        await services.engine.dispose()


def _ms(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    ordered = sorted(v * 1000 for v in values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(ordered[-1], 2),
    }


class Lesson:
    def __init__(self, teacher: Client, facilitators: dict[int, Client], students: list[Client]):
        self.teacher = teacher
        self.facilitators = facilitators
        self.students = students
        self.press: list[float] = []
        self.press_fac: list[float] = []
        self.clear: list[float] = []
        self.clear_fac: list[float] = []

    def staff_of(self, student: Client) -> list[Client]:
        fac = self.facilitators.get(student.site_id) if student.site_id is not None else None
        return [self.teacher] + ([fac] if fac is not None else [])

    async def _timed(self, sender: Client, type_: str, data: dict[str, Any],
                     student: Client, active: bool) -> list[float]:  # fmt: skip
        """Send one command; seconds until each staff member got the explicit change."""
        waits = [c.expect(student.user_id, active) for c in self.staff_of(student)]
        start = time.perf_counter()
        ack = await sender.send(type_, data)
        arrived = await asyncio.wait_for(asyncio.gather(*waits), WAIT_S)
        reply = await asyncio.wait_for(ack, WAIT_S)
        if reply.get("type") != "ack":
            raise RuntimeError(f"{type_} refused: {reply}")
        return [t - start for t in arrived]

    def _record(self, got: list[float], first: list[float], fac: list[float]) -> None:
        first.append(got[0])
        fac.extend(got[1:])

    async def round(self, group: list[Client], *, clear: bool) -> None:
        presses = await asyncio.gather(
            *(self._timed(s, "engagement.confused", {"active": True}, s, True) for s in group)
        )
        for got in presses:
            self._record(got, self.press, self.press_fac)
        if not clear:
            return
        half = len(group) // 2
        seen = "engagement.ack_student"
        clears = [
            self._timed(self.teacher, seen, {"user_id": s.user_id}, s, False) for s in group[:half]
        ]
        clears += [
            self._timed(s, "engagement.confused", {"active": False}, s, False) for s in group[half:]
        ]
        for got in await asyncio.gather(*clears):
            self._record(got, self.clear, self.clear_fac)

    async def expiry_round(self, group: list[Client]) -> list[float]:
        waits = [c.expect(s.user_id, False) for s in group for c in self.staff_of(s)]
        await self.round(group, clear=False)
        await asyncio.wait_for(asyncio.gather(*waits), EXPIRY_S + WAIT_S)
        late: list[float] = []
        for client in {id(c): c for s in group for c in self.staff_of(s)}.values():
            for _perf, wall, data in client.explicit:
                if not data["active"] and data["cause"] == "expired":
                    since = next(
                        d["since"]
                        for _p, _w, d in reversed(client.explicit)
                        if d["active"] and d["user_id"] == data["user_id"]
                    )
                    late.append(wall - (since + EXPIRY_S))
        return late

    def leaks(self) -> int:
        """Explicit frames about another student, or from another site."""
        count = sum(
            1 for s in self.students for _p, _w, d in s.explicit if d["user_id"] != s.user_id
        )
        for site, fac in self.facilitators.items():
            count += sum(1 for _p, _w, d in fac.explicit if d["site_id"] != site)
        return count


async def _attention(students: list[Client]) -> None:
    """Every student's attention heartbeat, staggered over the period (runs until cancelled)."""
    step = ATTENTION_EVERY_S / max(1, len(students))
    while True:
        for s in students:
            await s.post("engagement.attention", {"visible": True, "focused": True, "idle_s": 2})
            await asyncio.sleep(step)  # the telemetry period, not synchronisation


def _groups(students: list[Client], rounds: int, burst: int) -> list[list[Client]]:
    """Disjoint groups, each mixing sites (and remote students)."""
    by_site: dict[int | None, list[Client]] = {}
    for s in students:
        by_site.setdefault(s.site_id, []).append(s)
    mixed = [s for row in zip(*by_site.values(), strict=False) for s in row]
    need = rounds * burst
    if len(mixed) < need:
        raise SystemExit(f"{len(mixed)} students cannot make {rounds} rounds of {burst}")
    return [mixed[i * burst : (i + 1) * burst] for i in range(rounds)]


async def measure(students: int, rounds: int, burst: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="hyflex-engbench-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    secret = secrets.token_urlsafe(48)
    env = {
        "HYFLEX_DATA_DIR": str(tmp / "data"),
        "HYFLEX_DATABASE_URL": db_url,
        "HYFLEX_SECRET_KEY": secret,
        "HYFLEX_ENGAGEMENT__CONFUSED_EXPIRY_S": str(EXPIRY_S),
    }
    settings = Settings(data_dir=tmp / "data", database_url=db_url, secret_key=secret)
    server: Proc | None = None
    clients: list[Client] = []
    try:
        demo_students = 40
        await seed(settings, max(0, students - demo_students))
        session_id, people = await _people(settings)
        setup = time.perf_counter()
        server, port = await start_server("ours", env)
        url = f"ws://127.0.0.1:{port}/ws/sessions/{session_id}"
        signer = TokenSigner(secret)
        now = time.time()

        def token(uid: int, role: Role) -> str:
            return str(
                signer.issue(user_id=uid, role=role, typ="access", now=now, ttl_seconds=3600)
            )

        async def join(uid: int, role: Role, site: int | None) -> Client:
            client = await _open(url, token(uid, role), f"{role.value}{uid}", uid, site)
            clients.append(client)
            return client

        teacher = None
        facilitators: dict[int, Client] = {}
        pupils: list[Client] = []
        for uid, role, site in people:
            if role is Role.TEACHER and teacher is None:
                teacher = await join(uid, role, site)
            elif role is Role.FACILITATOR and site is not None:
                facilitators[site] = await join(uid, role, site)
        for first in range(0, len(people), 20):
            chunk = [p for p in people[first : first + 20] if p[1] is Role.STUDENT]
            pupils += await asyncio.gather(*(join(uid, r, site) for uid, r, site in chunk))
        assert teacher is not None
        print(f"ws: server up, {len(clients)} connected in {time.perf_counter() - setup:.1f} s")
        lesson = Lesson(teacher, facilitators, pupils)
        telemetry = asyncio.create_task(_attention(pupils))
        groups = _groups(pupils, rounds + 1, burst)
        cpu0, wall0 = cpu_seconds(server.pid), time.perf_counter()
        for group in groups[:-1]:
            await lesson.round(group, clear=True)
            await asyncio.sleep(ROUND_GAP_S)  # pacing, not synchronisation
        expiry_late = await lesson.expiry_round(groups[-1])
        cpu, wall = cpu_seconds(server.pid) - cpu0, time.perf_counter() - wall0
        telemetry.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await telemetry
        return {
            "ws_students": len(pupils),
            "ws_facilitators": len(facilitators),
            "ws_presses": len(lesson.press),
            "press_to_teacher": _ms(lesson.press),
            "press_to_facilitator": _ms(lesson.press_fac),
            "clear_to_teacher": _ms(lesson.clear),
            "clear_to_facilitator": _ms(lesson.clear_fac),
            "expiry_to_staff": _ms(expiry_late),
            "leaks": lesson.leaks(),
            "server_cpu_s": round(cpu, 3),
            "rounds_wall_s": round(wall, 2),
        }
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.ws.close()
            if client.reader is not None:
                client.reader.cancel()
        if server is not None:
            await server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
