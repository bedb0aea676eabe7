"""Moderation over real websockets: a removed student's sockets close with 4403 and a clear
reason, their token is refused at hello (even after a server restart: the removal is in the
log) until the teacher lets them back; asking to mute reaches that person only; a student's
or facilitator's attempt is refused and the session goes on."""

from __future__ import annotations

import asyncio

from websockets.exceptions import ConnectionClosed

from server.domain.roles import Role
from server.realtime.core.protocol import CLOSE_REMOVED
from tests.live_server import WsClient
from tests.realtime.conftest import Class


async def closed(client: WsClient) -> tuple[int | None, str]:
    try:
        async with asyncio.timeout(10):
            while True:
                await client.recv(10)
    except ConnectionClosed as exc:
        return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")


async def test_removed_student_is_closed_and_refused_until_let_back(klass: Class) -> None:
    teacher = await klass.teacher()
    fac_a = await klass.facilitator(0)
    student = await klass.student(0)
    other = await klass.student(1)
    uid = klass.demo.students[0].id
    await student.ok("hand.raise")
    await teacher.ok("moderation.remove", {"user_id": uid})
    code, reason = await closed(student)
    assert code == CLOSE_REMOVED and "removed you from this lesson" in reason
    seen = await fac_a.wait_for(lambda f: f.get("type") == "moderation.removed")
    assert seen["data"]["user_id"] == uid
    await teacher.wait_for(lambda f: f.get("type") == "hand.lowered")
    token = klass.token(uid or 0, Role.STUDENT)
    url = klass.server.ws_url(klass.session_id)
    again = await WsClient.open(url, token, None, expect_welcome=False)
    klass.clients.append(again)
    assert (await closed(again))[0] == CLOSE_REMOVED
    await other.ok("chat.send", {"text": "the lesson goes on"})
    assert teacher.welcome["snapshot"]["removed"] == []
    late_teacher = await klass.teacher()
    assert late_teacher.welcome["snapshot"]["removed"] == [uid]

    await klass.restart()  # the removal is in the event log, not only in memory
    teacher = await klass.teacher()
    url = klass.server.ws_url(klass.session_id)  # the restarted server's port
    refused = await WsClient.open(url, token, None, expect_welcome=False)
    klass.clients.append(refused)
    assert (await closed(refused))[0] == CLOSE_REMOVED
    await teacher.ok("moderation.allow_back", {"user_id": uid})
    back = await klass.student(0)
    assert back.welcome["snapshot"]["me"]["user_id"] == uid


async def test_ask_to_mute_reaches_that_person_and_others_are_refused(klass: Class) -> None:
    teacher = await klass.teacher()
    fac_a = await klass.facilitator(0)
    s1 = await klass.student(0)
    s2 = await klass.student(1)
    await teacher.ok("moderation.ask_mute", {"user_id": klass.demo.students[0].id})
    asked = await s1.wait_for(lambda f: f.get("type") == "moderation.mute_asked")
    assert asked["data"]["user_id"] == klass.demo.students[0].id
    for client in (fac_a, s2):
        for type_ in ("moderation.ask_mute", "moderation.remove", "moderation.allow_back"):
            reply = await client.call(type_, {"user_id": klass.demo.students[0].id})
            assert reply["type"] == "error" and reply["code"] == "not_permitted", (type_, reply)
    bad = await teacher.call("moderation.remove", {"user_id": "everyone"})
    assert bad["code"] == "bad_input"
    await s2.ok("hand.raise")
    assert not s2.events("moderation.mute_asked")
