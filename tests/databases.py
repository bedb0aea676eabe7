"""Fresh, migrated databases for tests: SQLite files and real PostgreSQL databases.

PostgreSQL: one template database is migrated per test run; each test gets a clone of it
(``CREATE DATABASE ... TEMPLATE``), dropped afterwards. The server is
``HYFLEX_TEST_POSTGRES_URL`` (default: the local one on 127.0.0.1:5432, user postgres).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg

from server.db.migrate import upgrade

PG_URL = os.environ.get(
    "HYFLEX_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def _dsn(url: str, database: str | None = None) -> str:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    if database is not None:
        dsn = dsn.rsplit("/", 1)[0] + "/" + database
    return dsn


def _async_url(database: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + database


class PostgresFactory:
    def __init__(self) -> None:
        self.template = f"hyflex_tpl_{uuid.uuid4().hex[:10]}"
        self.ready = False

    async def _admin(self) -> asyncpg.Connection:
        try:
            return await asyncpg.connect(_dsn(PG_URL), timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise RuntimeError(
                f"PostgreSQL is needed for these tests and is not reachable at {PG_URL}: {exc}. "
                "Run deploy/test.sh (it installs and starts one) or set HYFLEX_TEST_POSTGRES_URL."
            ) from exc

    async def create(self) -> str:
        conn = await self._admin()
        try:
            if not self.ready:
                await conn.execute(f'CREATE DATABASE "{self.template}"')
                await asyncio.to_thread(upgrade, _async_url(self.template))
                self.ready = True
            name = f"hyflex_t_{uuid.uuid4().hex[:12]}"
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            return name
        finally:
            await conn.close()

    async def drop(self, name: str) -> None:
        conn = await self._admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def drop_template(self) -> None:
        if self.ready:
            await self.drop(self.template)

    url_for = staticmethod(_async_url)


class SqliteFactory:
    def __init__(self, root: Path) -> None:
        self.template = root / "template.db"
        self.ready = False

    def create(self, target: Path) -> str:
        if not self.ready:
            upgrade(f"sqlite+aiosqlite:///{self.template}")
            self.ready = True
        shutil.copy(self.template, target)
        return f"sqlite+aiosqlite:///{target}"
