"""Shared fixtures: a fresh database per test (SQLite and PostgreSQL), the app and clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from server.app import create_app
from server.auth import passwords
from server.settings import Settings
from tests.databases import PostgresFactory, SqliteFactory

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"

# Argon2id at its smallest cost for the suite: every API test's world hashes and checks about
# twenty staff passwords, which at the production cost (pwdlib's recommended, 64 MiB and three
# passes: about 0.23 s each here) took 5 of every such test's 7 seconds. Still Argon2id, so
# hashing, verifying and refusing work as in production; a hash keeps its own parameters, so a
# server process started by a test (cluster, proxy) verifies these hashes too.
passwords._hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
passwords._DUMMY_HASH = passwords._hasher.hash("not-a-real-password")


@pytest.fixture(scope="session")
def sqlite_factory(tmp_path_factory: pytest.TempPathFactory) -> SqliteFactory:
    return SqliteFactory(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_factory() -> Iterator[PostgresFactory]:
    factory = PostgresFactory()
    yield factory
    asyncio.run(factory.drop_template())


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_factory: SqliteFactory,
    postgres_factory: PostgresFactory,
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield await asyncio.to_thread(sqlite_factory.create, tmp_path / "test.db")
        return
    name = await postgres_factory.create()
    try:
        yield postgres_factory.url_for(name)
    finally:
        await postgres_factory.drop(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key=TEST_SECRET,
        public_url="http://testserver",
    )


@pytest.fixture
async def app_and_client(settings: Settings) -> AsyncIterator[tuple[object, httpx.AsyncClient]]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield app, client
    await app.state.services.engine.dispose()
