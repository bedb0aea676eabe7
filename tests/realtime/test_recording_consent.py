"""Recording consent over real websockets: nothing is recorded until the teacher starts it,
everyone gets the same indicator (events and snapshots), a student joining a recorded lesson
sees it on; only the teacher may start or stop it; ``hyflex purge`` deletes finished
recordings past the retention; the notice text is served with the protocol."""

from __future__ import annotations

import argparse
import os
import time

import httpx

from server.cli import cmd_purge
from server.realtime.media.recording import session_dir
from server.settings import Settings
from tests.realtime.conftest import Class


async def test_indicator_follows_the_session_state_for_everyone(klass: Class) -> None:
    teacher = await klass.teacher()
    fac = await klass.facilitator(0)
    student = await klass.student(0)
    assert student.welcome["snapshot"]["recording"]["on"] is False
    for client in (fac, student):
        refused = await client.call("recording.start")
        assert refused["code"] == "not_permitted"
    await teacher.ok("recording.start")
    for client in (teacher, fac, student):
        await client.wait_for(lambda f: f.get("type") == "recording.started")
    late = await klass.student(1)
    assert late.welcome["snapshot"]["recording"]["on"] is True
    await teacher.ok("recording.stop")
    for client in (teacher, fac, student, late):
        await client.wait_for(lambda f: f.get("type") == "recording.stopped")
    later = await klass.student(2)
    assert later.welcome["snapshot"]["recording"]["on"] is False
    async with httpx.AsyncClient(base_url=klass.server.base, timeout=10) as http:
        schema = (await http.get("/api/protocol")).json()
    assert schema["recording_notice"] == klass.settings.recording_notice
    assert "recording.start" in schema["commands"]


def test_purge_deletes_recordings_past_the_retention(settings: Settings) -> None:
    settings.recording_retention_days = 30
    folder = session_dir(settings.data_dir, 7)
    folder.mkdir(parents=True)
    old = folder / "lesson-20240101T100000Z.webm"
    old_screen = folder / "lesson-20240101T100000Z.screen.webm"
    recent = folder / "lesson-20240301T100000Z.webm"
    in_progress = folder / "lesson-20240401T100000Z.webm.part"
    stray = folder / "notes.txt"
    for path in (old, old_screen, recent, in_progress, stray):
        path.write_bytes(b"x")
    long_ago = time.time() - 40 * 86_400
    for path in (old, old_screen, in_progress, stray):
        os.utime(path, (long_ago, long_ago))
    assert cmd_purge(settings, argparse.Namespace()) == 0
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [recent.name, in_progress.name, stray.name]
    )
    settings.recording_retention_days = 0  # kept until deleted by hand
    os.utime(recent, (long_ago, long_ago))
    assert cmd_purge(settings, argparse.Namespace()) == 0
    assert recent.exists()
