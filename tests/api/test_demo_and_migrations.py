"""Migrations apply to an empty database; the demo command is idempotent."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect
from sqlmodel import func, select

from server.db.engine import make_engine
from server.db.migrate import downgrade, upgrade
from server.db.models import Enrolment, LiveSession, Site, User
from server.demo import DEMO_PASSWORD, seed_demo
from server.domain.live import SessionStatus
from server.domain.roles import Role
from server.realtime.core.event_log import EventLog
from server.settings import PROJECT_DIR, InsecureSettings, Settings
from tests.databases import PostgresFactory

EXPECTED_TABLES = {
    "consortium",
    "school",
    "site",
    "user",
    "course",
    "coursesite",
    "enrolment",
    "livesession",
    "session_event",
    "engagement_timeline",
    "bank_item",
    "lesson_item",
    "lti_platform",  # LTI 1.3 (0008_lti)
    "lti_deployment",
    "lti_tool_key",
    "lti_nonce",
    "lti_context",
    "lti_resource_link",
    "lti_user_link",
    "lti_grade",
    "xapi_cursor",
    "slide_deck",
    "alembic_version",
}


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_migrations_up_down_up_on_empty_database(
    kind: str, tmp_path: Path, postgres_factory: PostgresFactory
) -> None:
    name = None
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    else:
        name = f"hyflex_m_{tmp_path.name[-8:].lower()}".replace("-", "_")
        conn = await postgres_factory._admin()
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = postgres_factory.url_for(name)
    try:
        await asyncio.to_thread(upgrade, url)
        assert await _tables(url) == EXPECTED_TABLES
        await asyncio.to_thread(downgrade, url)
        assert await _tables(url) <= {"alembic_version"}
        await asyncio.to_thread(upgrade, url)
        assert await _tables(url) == EXPECTED_TABLES
    finally:
        if name:
            await postgres_factory.drop(name)


FRESH = (
    "created: 1 consortium, 3 schools, 4 sites, 46 users, 1 course, 40 enrolments, "
    "4 course offers at sites, 1 live lesson"
)


async def test_demo_is_idempotent(app_and_client: Any) -> None:
    app, _ = app_and_client
    sessions = app.state.services.sessions
    first = await seed_demo(sessions)
    second = await seed_demo(sessions)
    assert first.summary() == FRESH
    assert second.summary() == "already there, nothing created"
    assert second.session.id == first.session.id and second.ended_before is None
    async with sessions() as db:
        counts = {
            model.__name__: (await db.exec(select(func.count()).select_from(model))).one()
            for model in (User, Site, Enrolment, LiveSession)
        }
        roles = list(await db.exec(select(User.role)))
    assert counts == {"User": 46, "Site": 4, "Enrolment": 40, "LiveSession": 1}
    assert sorted(set(roles)) == sorted(Role)
    assert sum(1 for r in roles if r == Role.FACILITATOR) == 4


async def test_demo_starts_a_fresh_lesson_once_the_last_has_ended(app_and_client: Any) -> None:
    app, client = app_and_client
    sessions = app.state.services.sessions
    first = await seed_demo(sessions, now=1_800_000_000.0)
    lesson = first.session
    assert lesson.status is SessionStatus.LIVE and lesson.id is not None
    log = EventLog(sessions)
    [started] = await log.read_since(lesson.id)  # born live: the row follows its log
    assert (started.event.type, started.event.at) == ("session.started", 1_800_000_000.0)
    login = await client.post(
        "/api/auth/login", json={"email": first.teacher.email, "password": DEMO_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    ended = await client.post(f"/api/sessions/{lesson.id}/end", headers=headers)
    assert ended.status_code == 200 and ended.json()["status"] == "ended"

    second = await seed_demo(sessions, now=1_800_003_600.0)
    fresh = second.session
    assert second.summary() == "created: 1 live lesson"
    assert second.ended_before is not None and second.ended_before.id == lesson.id
    assert fresh.id != lesson.id and fresh.status is SessionStatus.LIVE
    assert [e.event.type for e in await log.read_since(fresh.id or 0)] == ["session.started"]
    third = await seed_demo(sessions)
    assert third.session.id == fresh.id and third.summary() == "already there, nothing created"


def test_demo_command_prints_links_and_runs_twice(tmp_path: Path) -> None:
    env = {"HYFLEX_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    outputs = [_cli(env, "demo").stdout for _ in range(2)]
    assert f"Demo consortium {FRESH}." in outputs[0]
    assert "teacher@demo.hyflex" in outputs[0] and "/join#" in outputs[0]
    assert "Demo consortium already there, nothing created." in outputs[1]
    assert (tmp_path / "data" / "hyflex.db").exists()
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o077 == 0


def test_demo_links_piped_into_a_reader_that_stops_early_end_without_a_traceback(
    tmp_path: Path,
) -> None:
    """Like ``| head``, a reader that goes away before the output is all written. Here it is
    gone before the first line (a reader that takes one line raced the command: its output fits
    in the pipe, and under load it was all written before the reader closed)."""
    env = {"HYFLEX_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    _cli(env, "demo")
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the command's first write meets a broken pipe
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "demo", "--all-links"], env=env,
            cwd=PROJECT_DIR, stdout=write_end, stderr=subprocess.PIPE,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_relative_data_folder_is_the_projects_whatever_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYFLEX_DATA_DIR", raising=False)
    assert Settings().data_dir == PROJECT_DIR / "data"
    assert Settings(data_dir=Path("elsewhere")).data_dir == PROJECT_DIR / "elsewhere"
    assert Settings(data_dir=tmp_path / "x").data_dir == tmp_path / "x"


def test_production_refuses_missing_or_default_secret(tmp_path: Path) -> None:
    for secret in ("", "change-me", "short"):
        settings = Settings(env="production", secret_key=secret, data_dir=tmp_path)
        with pytest.raises(InsecureSettings):
            settings.resolve_secret()
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve"],
        env={"HYFLEX_ENV": "production", "HYFLEX_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "refusing to start" in proc.stderr
    ok = Settings(env="production", secret_key="k" * 40, data_dir=tmp_path)
    assert ok.resolve_secret() == "k" * 40
    dev = Settings(data_dir=tmp_path / "dev")
    assert dev.resolve_secret() == dev.resolve_secret()  # generated once, then kept


def _cli(env: dict[str, str], *args: str, cwd: Path | None = None, code: int = 0) -> Any:
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=env,
        cwd=cwd or PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == code, proc.stderr
    return proc


class ServeProcess:
    """``hyflex serve --demo`` in a child process (as deploy/run-demo.sh runs it)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--demo", "--log-level", "info"],
            env=env,
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_ready(self, within: float = 60.0) -> str:
        """What the server printed until uvicorn said it is up."""
        seen: list[str] = []
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if "Application startup complete" in line:
                return "".join(seen)
        raise AssertionError(f"the server did not start: {''.join(seen)[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


LINK = re.compile(r"http://127\.0\.0\.1:(\d+)/join#(\S+)")


def test_demo_agrees_with_the_running_server_on_port_data_and_secret(tmp_path: Path) -> None:
    """run-demo.sh on another port and data folder, then 'hyflex demo --all-links' from
    another folder without those settings: the links are for that server and it takes them."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = tmp_path / "data"
    base = {"HYFLEX_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"}
    server = ServeProcess({**base, "HYFLEX_PORT": str(port)})
    try:
        printed = server.wait_ready()
        assert f"Demo consortium {FRESH}." in printed
        assert {p for p, _ in LINK.findall(printed)} == {str(port)}

        out = _cli(base, "demo", "--all-links", cwd=tmp_path).stdout
        assert "Demo consortium already there, nothing created." in out
        assert f"Server: http://127.0.0.1:{port}  (running, pid {server.proc.pid})" in out
        links = LINK.findall(out)
        assert len(links) == 40 and {p for p, _ in links} == {str(port)}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            joined = http.post("/api/auth/join", json={"token": links[0][1]})
            assert joined.status_code == 200, joined.text
            assert joined.json()["session_status"] == "live"
            lesson = joined.json()["session_id"]

            other_secret = {**base, "HYFLEX_SECRET_KEY": "another-secret-" * 3}
            refused = _cli(other_secret, "demo", code=2)
            assert "uses another secret: set HYFLEX_SECRET_KEY" in refused.stderr

            login = http.post(
                "/api/auth/login", json={"email": "teacher@demo.hyflex", "password": DEMO_PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            assert http.post(f"/api/sessions/{lesson}/end", headers=headers).status_code == 200
            out = _cli(base, "demo", cwd=tmp_path).stdout
            assert "Demo consortium created: 1 live lesson." in out
            assert f"a fresh lesson: lesson {lesson} had ended" in out
            token = LINK.findall(out)[0][1]
            fresh = http.post("/api/auth/join", json={"token": token}).json()
            assert fresh["session_id"] != lesson and fresh["session_status"] == "live"
    finally:
        server.stop()
    assert not (data / "server.json").exists()
    out = _cli(base, "demo", cwd=tmp_path).stdout  # no server now: it says so
    assert "Server: http://127.0.0.1:8000  (not running" in out
