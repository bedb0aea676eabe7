"""A message id reused for a different command is refused with ``conflict`` (the client must
not believe its new command was carried out); a retry of the same command is acknowledged
with the first seq. Both hold after a server restart, when the store is rebuilt from the log."""

from __future__ import annotations

from sqlmodel import col, select

from server.db.models import SessionEvent
from tests.realtime.conftest import Class


async def test_reused_id_with_another_command_is_a_conflict(klass: Class) -> None:
    await klass.teacher()
    student = await klass.student(0)
    raised = await student.call("hand.raise", {}, "X")
    assert raised["type"] == "ack" and isinstance(raised["seq"], int)
    reused = await student.call("qna.ask", {"text": "Is this posted?"}, "X")
    assert reused["type"] == "error" and reused["code"] == "conflict", reused
    retry = await student.call("hand.raise", {}, "X")
    assert retry["type"] == "ack" and retry["seq"] == raised["seq"]
    # same type, other data: a conflict too
    asked = await student.call("qna.ask", {"text": "First question"}, "Y")
    other = await student.call("qna.ask", {"text": "Second question"}, "Y")
    assert other["type"] == "error" and other["code"] == "conflict"
    assert (await student.call("qna.ask", {"text": "First question"}, "Y"))["seq"] == asked["seq"]
    # another user may use the same id for anything
    other_student = await klass.student(1)
    assert (await other_student.call("qna.ask", {"text": "Mine"}, "X"))["type"] == "ack"
    texts = [q["text"] for q in (await klass.teacher()).welcome["snapshot"]["qna"]]
    assert texts == ["First question", "Mine"]


async def test_conflicts_survive_a_restart(klass: Class) -> None:
    await klass.teacher()
    student = await klass.student(0)
    raised = await student.call("hand.raise", {}, "X")
    await klass.restart()  # the idempotency store is rebuilt from the log
    back = await klass.student(0)
    reused = await back.call("qna.ask", {"text": "Is this posted?"}, "X")
    assert reused["type"] == "error" and reused["code"] == "conflict", reused
    retry = await back.call("hand.raise", {}, "X")
    assert retry["type"] == "ack" and retry["seq"] == raised["seq"]
    async with klass.server.app.state.services.sessions() as db:
        row = (
            await db.exec(select(SessionEvent).where(col(SessionEvent.client_msg_id) == "X"))
        ).one()
    assert row.type == "hand.raised" and row.command_hash and len(row.command_hash) == 64
