"""Chat over real websockets: each audience gets what it should and nobody else does; a resume
brings the recent chat back in the snapshot; floods, oversized and muted messages and
moderation by the wrong person get clear errors while the session goes on."""

from __future__ import annotations

import json

from server.realtime.core.gateway import CLOSE_TOO_BIG
from tests.live_server import WsClient
from tests.realtime.conftest import Class


def texts(client: WsClient) -> list[str]:
    return [f["data"]["text"] for f in client.events("chat.sent")]


async def test_everyone_site_and_private_reach_their_audiences(klass: Class) -> None:
    teacher = await klass.teacher()
    fac_a = await klass.facilitator(0)
    fac_b = await klass.facilitator(1)
    s_a = await klass.student(0)  # site A
    s_a2 = await klass.student(1)  # site A
    s_b = await klass.student(8)  # site B
    await s_a.ok("chat.send", {"text": "hello everyone"})
    await s_a.ok("chat.send", {"text": "site A only", "to": "site"})
    await s_b.ok("chat.send", {"text": "psst teacher", "to": "teacher"})
    await teacher.wait_for(lambda f: f.get("type") == "chat.sent" and f["data"]["chat_id"] == 3)
    await fac_b.ok("chat.send", {"text": "m"})
    for client in (teacher, fac_a, fac_b, s_a, s_a2, s_b):
        await client.wait_for(lambda f: f.get("type") == "chat.sent" and f["data"]["text"] == "m")
    assert texts(teacher) == ["hello everyone", "site A only", "psst teacher", "m"]
    assert texts(fac_a) == ["hello everyone", "site A only", "m"]
    assert texts(s_a2) == ["hello everyone", "site A only", "m"]
    assert texts(fac_b) == ["hello everyone", "m"]
    assert texts(s_b) == ["hello everyone", "psst teacher", "m"]
    sent = s_a.events("chat.sent")[0]["data"]
    assert sent["name"] == klass.demo.students[0].display_name


async def test_resume_gets_the_recent_chat_in_the_snapshot(klass: Class) -> None:
    s_a = await klass.student(0)
    s_b = await klass.student(8)
    await s_a.ok("chat.send", {"text": "for A", "to": "site"})
    await s_a.ok("chat.send", {"text": "for all"})
    await s_b.ok("chat.send", {"text": "private B", "to": "teacher"})
    again = await klass.student(1)  # site A, joining late
    seen = [m["text"] for m in again.welcome["snapshot"]["chat"]["messages"]]
    assert seen == ["for A", "for all"]
    b_again = await klass.student(8, last_seq=0)
    seen_b = [m["text"] for m in b_again.welcome["snapshot"]["chat"]["messages"]]
    assert seen_b == ["for all", "private B"]
    teacher = await klass.teacher()
    assert len(teacher.welcome["snapshot"]["chat"]["messages"]) == 3


async def test_flood_oversize_and_muted_get_clear_errors_and_the_session_goes_on(
    klass: Class,
) -> None:
    teacher = await klass.teacher()
    fac_b = await klass.facilitator(1)
    s_a = await klass.student(0)
    s_a2 = await klass.student(1)
    codes = []
    for i in range(12):
        reply = await s_a.call("chat.send", {"text": f"spam {i}"})
        codes.append(reply.get("code"))
    assert codes[:5] == [None] * 5
    assert "rate_limited" in codes[5:]
    limited = next(f for f in s_a.frames if f.get("code") == "rate_limited")
    assert "too many chat messages" in limited["message"]
    big = await s_a2.call("chat.send", {"text": "x" * 501})
    assert big["type"] == "error" and big["code"] == "bad_input" and "longer" in big["message"]
    wrong = await fac_b.call("chat.mute", {"user_id": klass.demo.students[1].id})
    assert wrong["code"] == "not_permitted"
    by_student = await s_a.call("chat.set", {"enabled": False})
    assert by_student["code"] == "not_permitted"
    by_student = await s_a.call("chat.delete", {"chat_id": 1})
    assert by_student["code"] == "not_permitted"
    await teacher.ok("chat.mute", {"user_id": klass.demo.students[1].id})
    muted = await s_a2.wait_for(lambda f: f.get("type") == "chat.muted")
    assert muted["data"]["muted"] is True
    refused = await s_a2.call("chat.send", {"text": "let me speak"})
    assert refused["code"] == "not_permitted" and "muted" in refused["message"]
    # a frame larger than the websocket limit closes that one socket only
    await s_a2.ws.send(json.dumps({"type": "chat.send", "data": {"text": "y" * 100_000}}))
    assert await s_a2.closed_with() == CLOSE_TOO_BIG
    await teacher.ok("chat.send", {"text": "still here"})
    await s_a.wait_for(lambda f: f.get("type") == "chat.sent" and f["data"]["text"] == "still here")


async def test_delete_reaches_the_message_audience(klass: Class) -> None:
    teacher = await klass.teacher()
    fac_a = await klass.facilitator(0)
    s_a = await klass.student(0)
    await s_a.ok("chat.send", {"text": "oops"})
    chat_id = (await teacher.wait_for(lambda f: f.get("type") == "chat.sent"))["data"]["chat_id"]
    await fac_a.ok("chat.delete", {"chat_id": chat_id})
    gone = await s_a.wait_for(lambda f: f.get("type") == "chat.deleted")
    assert gone["data"] == {"chat_id": chat_id, "by": klass.demo.facilitators[0].id}
    late = await klass.student(2)
    assert late.welcome["snapshot"]["chat"]["messages"] == []
