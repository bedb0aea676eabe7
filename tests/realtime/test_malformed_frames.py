"""Frames that are not even well-formed: invalid UTF-8 in a text frame, JSON nested too deeply.
Each gets a clear answer (a close code the protocol requires, or a typed error with the session
going on) and leaves no ERROR or traceback in the server's log, so nobody can flood the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.realtime.core import gateway, protocol
from server.realtime.core.socket_context import SocketContext
from tests.realtime.conftest import Class


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog, also fed by uvicorn's own loggers (which do not propagate to the root)."""
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        uvicorn.removeHandler(caplog.handler)


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert bad == [], [r.getMessage() for r in bad]


async def test_invalid_utf8_text_frame_closes_1007_without_an_error_log(
    klass: Class, server_log: pytest.LogCaptureFixture
) -> None:
    teacher = await klass.teacher()
    student = await klass.student(0)
    server_log.clear()
    with server_log.at_level(logging.DEBUG):
        for _ in range(5):
            bad = await klass.student(1)
            await bad.ws.send(b'{"type": "ping", "id": "\xff\xfe"}', text=True)
            assert await bad.closed_with() == 1007
        await student.ok("hand.raise")
        await teacher.wait_for(lambda f: f.get("type") == "hand.raised")
    _no_errors_logged(server_log)


@pytest.mark.parametrize("depth", [1000, 5000])
async def test_too_deep_json_is_a_typed_error_and_the_session_goes_on(
    klass: Class, server_log: pytest.LogCaptureFixture, depth: int
) -> None:
    teacher = await klass.teacher()
    student = await klass.student(0)
    nested = "[" * depth + "]" * depth
    frames = [
        nested,
        '{"type": "qna.ask", "id": "deep", "data": {"text": ' + nested + "}}",
        '{"type": "qna.ask", "id": "deep2", "data": {"extra": ' + nested + "}}",
    ]
    server_log.clear()
    with server_log.at_level(logging.DEBUG):
        for frame in frames:
            await student.ws.send(frame)
            error = await student.wait_for(lambda f: f.get("type") == "error")
            assert error["code"] == "bad_input", error
            assert "nested" in error["message"] or "malformed" in error["message"], error
        reply = await student.call("qna.ask", {"text": "still here?"})
        assert reply["type"] == "ack"
        await teacher.wait_for(lambda f: f.get("type") == "qna.asked")
    _no_errors_logged(server_log)


async def test_deep_json_in_an_oversized_frame_still_closes_1009(
    klass: Class, server_log: pytest.LogCaptureFixture
) -> None:
    student = await klass.student(0)
    depth = klass.settings.ws_max_message_bytes
    server_log.clear()
    with server_log.at_level(logging.DEBUG):
        await student.ws.send('{"x": ' + "[" * depth + "]" * depth + ', "type": "media.offer"}')
        assert await student.closed_with() == 1009
    _no_errors_logged(server_log)


async def test_a_bug_in_a_handler_is_logged_not_swallowed(
    klass: Class, server_log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only disconnects end a connection quietly: a RuntimeError from a handler is a bug, so it
    is logged with its traceback and the client is told to resume (1011)."""

    async def broken(ctx: SocketContext, message: protocol.ClientMessage) -> None:
        raise RuntimeError("a bug in a handler")

    monkeypatch.setitem(gateway.DISPATCH, "broken", broken)
    teacher = await klass.teacher()
    student = await klass.student(0)
    server_log.clear()
    await student.send("broken.thing")
    assert await student.closed_with() == 1011
    bugs = [r for r in server_log.records if r.levelno == logging.ERROR and r.exc_info]
    assert [str(r.exc_info[1]) for r in bugs if r.exc_info] == ["a bug in a handler"]
    await teacher.ok("hand.clear")


@pytest.mark.parametrize("session_id", [2**63, 10**30, -5, 0])
async def test_out_of_range_session_ids_are_refused_at_the_handshake(
    klass: Class, server_log: pytest.LogCaptureFixture, session_id: int
) -> None:
    """The websocket path's id is bounded like every REST id: no database overflow."""
    server_log.clear()
    with pytest.raises(InvalidStatus) as refused:
        async with connect(klass.server.ws_url(session_id)):
            pass
    assert refused.value.response.status_code == 403
    _no_errors_logged(server_log)
