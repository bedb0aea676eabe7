"""xAPI statements of an ended lesson sent to a real LRS (ralph, started by the test): read
back with their derived ids, never duplicated by a resend, and delivered exactly once across an
LRS outage in the middle of a send."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from asyncio.subprocess import PIPE, STDOUT
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from server.app import create_app
from server.db.models import LiveSession
from server.db.xapi_models import XapiCursor
from server.domain.live import LiveAggregate as DomainSession
from server.domain.live import Roster, SessionStatus
from server.domain.live.commands import Join, QnaAsk, StartSession
from server.domain.live.event_types import DERIVED_EVENT_TYPES
from server.domain.roles import Actor, Role
from server.domain.xapi import statement_id
from server.realtime.core.event_log import EventLog, PendingEvent
from server.services.lifecycle import project_status
from server.services.xapi_sync import LrsClient, LrsError, XapiSync
from server.settings import Settings
from tests.api.test_reports import _lesson
from tests.api.world import World, build_world
from tests.conftest import TEST_SECRET
from tests.xapi.lrs import PASSWORD, USER, Lrs


@pytest.fixture
def lrs(tmp_path: Path) -> Iterator[Lrs]:
    server = Lrs(tmp_path / "lrs")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _settings(settings: Settings, lrs: Lrs, **more: Any) -> Settings:
    return settings.model_copy(
        update={
            "lrs_url": lrs.url,
            "lrs_username": USER,
            "lrs_password": SecretStr(PASSWORD),
            **more,
        }
    )


async def _ended_lesson(world: World) -> dict[str, Any]:
    who = await _lesson(world)
    async with world.app.state.services.sessions() as db:
        row = await db.get(LiveSession, world.ids["session"])
        assert row is not None
        project_status(row, SessionStatus.ENDED, 2_000_000_000)
        db.add(row)
        await db.commit()
    return who


async def _cursor(world: World) -> XapiCursor:
    async with world.app.state.services.sessions() as db:
        cursor = await db.get(XapiCursor, world.ids["session"])
        assert cursor is not None
        return cursor


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_statements_arrive_with_their_ids_and_a_resend_adds_none(
    app_and_client: Any, settings: Settings, lrs: Lrs
) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    who = await _ended_lesson(world)
    config = _settings(settings, lrs, public_url="https://hyflex.example.org")
    sync = XapiSync(app.state.services.sessions, config, LrsClient(config))
    try:
        [result] = await sync.sync(world.ids["session"])
        stored = lrs.statements()
        assert result.sent == len(stored) == 6  # 3 attended, 2 answered, 1 asked
        verbs = Counter(s["verb"]["id"].rsplit("/", 1)[1] for s in stored)
        assert verbs == {"attended": 3, "answered": 2, "asked": 1}
        here = who["here"].user_id
        answer = next(
            s
            for s in stored
            if s["verb"]["id"].endswith("answered") and s["actor"]["account"]["name"] == str(here)
        )
        assert answer["actor"] == {
            "objectType": "Agent",
            "account": {"homePage": "https://hyflex.example.org", "name": str(here)},
        }
        assert answer["result"]["response"] == "+1 and -2" and "mbox" not in answer["actor"]
        ended_seq = (await _cursor(world)).sent_seq
        attended_at_end = statement_id(
            "https://hyflex.example.org", world.ids["session"], ended_seq, here
        )
        back = lrs.statement(attended_at_end)
        got = back["statements"][0] if "statements" in back else back
        assert got["verb"]["id"].endswith("/attended") and got["result"]["completion"] is True
        assert got["result"]["duration"] == "PT59.00S"

        assert (await sync.sync(world.ids["session"]))[0].sent == 0  # nothing new
        async with app.state.services.sessions() as db:  # as if the cursor was never saved
            cursor = await db.get(XapiCursor, world.ids["session"])
            assert cursor is not None
            cursor.sent_seq = 0
            db.add(cursor)
            await db.commit()
        assert (await sync.sync(world.ids["session"]))[0].sent == 6  # sent again ...
        ids = Counter(s["id"] for s in lrs.statements())
        assert len(ids) == 6 and set(ids.values()) == {1}  # ... and kept once
    finally:
        await sync.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_outage_mid_send_loses_and_duplicates_nothing(
    app_and_client: Any, settings: Settings, lrs: Lrs
) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    await _ended_lesson(world)
    config = _settings(settings, lrs, lrs_batch_size=2, lrs_max_attempts=2, lrs_retry_seconds=0.01)
    answered = 0

    async def stop_after_first_batch(response: httpx.Response) -> None:
        nonlocal answered
        answered += 1
        if answered == 1:
            await asyncio.to_thread(lrs.stop)  # the LRS goes away right after accepting it

    http = httpx.AsyncClient(timeout=10, event_hooks={"response": [stop_after_first_batch]})
    sync = XapiSync(app.state.services.sessions, config, LrsClient(config, http))
    try:
        with pytest.raises(LrsError):
            await sync.sync(world.ids["session"])
        cursor = await _cursor(world)
        assert cursor.sent == 2 and cursor.last_error is not None
        assert "could not be reached" in cursor.last_error

        await sync.kick(world.ids["session"])  # retried with backoff, gives up: still down
        assert (await _cursor(world)).sent == 2

        lrs.start()
        [result] = await sync.sync(world.ids["session"])
        assert result.sent == 4 and (await _cursor(world)).last_error is None
        ids = Counter(s["id"] for s in lrs.statements())
        assert len(ids) == 6 and set(ids.values()) == {1}
    finally:
        await sync.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_hyflex_xapi_sync_command(
    app_and_client: Any, settings: Settings, lrs: Lrs, tmp_path: Path
) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    await _ended_lesson(world)
    env = {
        **os.environ,
        "HYFLEX_DATABASE_URL": settings.resolved_database_url,
        "HYFLEX_DATA_DIR": str(tmp_path / "data"),
        "HYFLEX_SECRET_KEY": TEST_SECRET,
        "HYFLEX_PUBLIC_URL": "http://testserver",
    }

    async def hyflex(*args: str, **more: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("hyflex")),
            *args,
            env={**env, **more},
            stdout=PIPE,
            stderr=STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        return proc.returncode or 0, out.decode()

    code, out = await hyflex("xapi-sync")
    assert code == 2 and "HYFLEX_LRS_URL is not set" in out
    lrs_env = {
        "HYFLEX_LRS_URL": lrs.url,
        "HYFLEX_LRS_USERNAME": USER,
        "HYFLEX_LRS_PASSWORD": PASSWORD,
    }
    code, out = await hyflex("xapi-sync", **lrs_env)
    assert code == 0, out
    assert f"lesson {world.ids['session']}: 6 statements sent" in out
    assert len(lrs.statements()) == 6
    lrs.stop()
    code, out = await hyflex("xapi-sync", **lrs_env)
    assert code == 0 and f"lesson {world.ids['session']}: 0 statements sent" in out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_ending_a_lesson_sends_its_statements(settings: Settings, lrs: Lrs) -> None:
    config = _settings(settings, lrs)
    app = create_app(config)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        world = await build_world(app, client)
        demo = world.demo
        student = Actor(demo.students[0].id or 0, Role.STUDENT, demo.sites[0].id)
        teacher = Actor(world.ids["teacher"], Role.TEACHER)
        live = DomainSession(world.ids["session"], Roster([teacher, student]))
        live.handle(teacher, StartSession(), time.time())
        events = [
            *live.handle(student, Join(), time.time()),
            *live.handle(student, QnaAsk("why?"), time.time()),
        ]
        logged = [PendingEvent(e, None, None) for e in events if e.type not in DERIVED_EVENT_TYPES]
        await EventLog(app.state.services.sessions).append(world.ids["session"], 2, logged)
        ended = await world.call("teacher", "POST", f"/api/sessions/{world.ids['session']}/end")
        assert ended.status_code == 200, ended.text
        await asyncio.gather(*app.state.xapi.tasks)
        verbs = sorted(s["verb"]["id"].rsplit("/", 1)[1] for s in lrs.statements())
        assert verbs == ["asked", "attended"]
        await app.state.xapi.close()
    await app.state.services.engine.dispose()
