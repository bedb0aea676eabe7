"""Every client message type of the protocol, sent by a role allowed to, acknowledged; and the
session's start and end over the websocket reach the database."""

from __future__ import annotations

from typing import Any

from server.db.models import LiveSession
from server.domain.live import SessionStatus
from server.domain.roles import Role
from server.realtime.core.protocol import COMMANDS
from tests.live_server import WsClient
from tests.realtime.conftest import Class

SPEC = {"kind": "single", "prompt": "Pick one", "options": ["a", "b"], "correct": {"choices": [0]}}


async def test_every_command_is_acknowledged(klass: Class) -> None:
    teacher = await klass.teacher()
    fac = await klass.facilitator(0)
    s1 = await klass.student(0)  # site A, like the facilitator
    s2 = await klass.student(1)
    sent: set[str] = set()

    async def ok(client: WsClient, type_: str, data: dict[str, Any] | None = None) -> Any:
        reply = await client.ok(type_, data)
        sent.add(type_)
        return reply

    async def event_of(client: WsClient, type_: str) -> dict[str, Any]:
        frame = await client.wait_for(lambda f: f.get("type") == type_)
        data: dict[str, Any] = frame["data"]
        return data

    await ok(teacher, "poll.open", {"spec": SPEC})
    poll_id = (await event_of(s1, "poll.opened"))["poll_id"]
    await ok(s1, "poll.answer", {"poll_id": poll_id, "answer": {"choices": [0]}})
    await ok(teacher, "poll.close", {"poll_id": poll_id})
    await ok(teacher, "poll.reveal", {"poll_id": poll_id})

    await ok(teacher, "question.prepare", {"spec": SPEC, "position": 30})
    qid = (await event_of(teacher, "question.prepared"))["question_id"]
    await ok(teacher, "question.show", {"question_id": qid})
    await ok(s1, "question.answer", {"question_id": qid, "answer": {"choices": [1]}})
    await ok(teacher, "question.close", {"question_id": qid})
    await ok(teacher, "question.launch", {"spec": SPEC})

    await ok(s1, "qna.ask", {"text": "Why?"})
    qna_id = (await event_of(s2, "qna.asked"))["qna_id"]
    await ok(s2, "qna.upvote", {"qna_id": qna_id})
    await ok(s2, "qna.unvote", {"qna_id": qna_id})
    await ok(teacher, "qna.mark_answered", {"qna_id": qna_id})
    await ok(fac, "qna.hide", {"qna_id": qna_id})

    await ok(s1, "hand.raise")
    await ok(s1, "hand.lower")
    await ok(fac, "hand.raise_site")
    await ok(fac, "hand.lower_site")
    await ok(s2, "hand.raise")
    await ok(teacher, "hand.dismiss", {"user_id": klass.demo.students[1].id})
    await ok(s1, "hand.raise")
    await ok(teacher, "hand.clear")
    await ok(teacher, "stage.bring", {"user_id": klass.demo.students[0].id})
    await ok(teacher, "stage.return", {"user_id": klass.demo.students[0].id})

    await ok(s1, "reaction.send", {"reaction": "clap"})
    counts = await event_of(s2, "reaction.counts")
    assert counts == {"counts": {"clap": 1}}
    await ok(teacher, "check.open", {"prompt": "Can you see the slide?"})
    check_id = (await event_of(s1, "check.opened"))["check_id"]
    await ok(s1, "check.answer", {"check_id": check_id, "yes": True})
    await ok(teacher, "check.close", {"check_id": check_id})
    await ok(teacher, "slides.show", {"deck_id": 1, "page": 2})
    assert (await event_of(s1, "slides.shown"))["page"] == 2
    await ok(teacher, "slides.hide")

    await ok(s1, "chat.send", {"text": "hello", "to": "site"})
    chat_id = (await event_of(fac, "chat.sent"))["chat_id"]
    await ok(fac, "chat.delete", {"chat_id": chat_id})
    await ok(fac, "chat.mute", {"user_id": klass.demo.students[0].id})
    await ok(teacher, "chat.set", {"enabled": False})
    await ok(teacher, "moderation.ask_mute", {"user_id": klass.demo.students[1].id})
    await ok(teacher, "moderation.remove", {"user_id": klass.demo.students[1].id})
    await ok(teacher, "moderation.allow_back", {"user_id": klass.demo.students[1].id})
    await ok(teacher, "recording.start")
    await ok(teacher, "recording.stop")
    await ok(teacher, "caption.grant", {"user_id": klass.demo.students[0].id})
    await ok(s1, "caption.add", {"text": "hello"})
    await ok(teacher, "caption.revoke", {"user_id": klass.demo.students[0].id})

    # the lifecycle, on a fresh scheduled session of the same course
    async with klass.server.app.state.services.sessions() as db:
        fresh = LiveSession(course_id=klass.demo.course.id or 0, title="Next week")
        db.add(fresh)
        await db.commit()
    url = klass.server.ws_url(fresh.id or 0)
    lead = await WsClient.open(url, klass.token(klass.demo.teacher.id or 0, Role.TEACHER))
    klass.clients.append(lead)
    assert lead.welcome["snapshot"]["status"] == "scheduled"
    await ok(lead, "session.start")
    await ok(lead, "session.end")
    async with klass.server.app.state.services.sessions() as db:
        stored = await db.get(LiveSession, fresh.id)
    assert stored is not None and stored.status == SessionStatus.ENDED
    assert stored.started_at is not None and stored.ended_at is not None

    assert sent == set(COMMANDS), f"not exercised: {set(COMMANDS) - sent}"
