"""Shared fixtures: a fresh database per test (SQLite and PostgreSQL), the app and clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from server.settings import Settings
from tests.databases import PostgresFactory, SqliteFactory

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


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
