"""Migrations apply to an empty database; the demo command is idempotent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlmodel import func, select

from server.db.engine import make_engine
from server.db.migrate import downgrade, upgrade
from server.db.models import Enrolment, LiveSession, Site, User
from server.demo import seed_demo
from server.domain.roles import Role
from server.settings import InsecureSettings, Settings
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


async def test_demo_is_idempotent(app_and_client: Any) -> None:
    app, _ = app_and_client
    sessions = app.state.services.sessions
    first = await seed_demo(sessions)
    second = await seed_demo(sessions)
    assert first.created > 90 and second.created == 0
    assert second.session.id == first.session.id
    async with sessions() as db:
        counts = {
            model.__name__: (await db.exec(select(func.count()).select_from(model))).one()
            for model in (User, Site, Enrolment, LiveSession)
        }
        roles = list(await db.exec(select(User.role)))
    assert counts == {"User": 46, "Site": 4, "Enrolment": 40, "LiveSession": 1}
    assert sorted(set(roles)) == sorted(Role)
    assert sum(1 for r in roles if r == Role.FACILITATOR) == 4


def test_demo_command_prints_links_and_runs_twice(tmp_path: Path) -> None:
    env = {"HYFLEX_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    outputs = []
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "server.cli", "demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert "teacher@demo.hyflex" in outputs[0] and "/join#" in outputs[0]
    assert "0 records created" in outputs[1]
    assert (tmp_path / "data" / "hyflex.db").exists()
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o077 == 0


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
