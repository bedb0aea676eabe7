"""The hand queue over the wire: a student's hand reaches that student, their site's
facilitators and the teacher; a room's hand its facilitators and the teacher; everyone gets
the queue's length (``hand.count``), and a snapshot holds only what its reader may see."""

from __future__ import annotations

from tests.live_server import WsClient
from tests.realtime.conftest import Class


def _hands(client: WsClient, type_: str) -> list[tuple[str, int | None]]:
    return [(f["data"]["kind"], f["data"]["user_id"]) for f in client.events(type_)]


async def test_hands_reach_only_their_audience(klass: Class) -> None:
    teacher = await klass.teacher()
    fac_a = await klass.facilitator(0)
    fac_b = await klass.facilitator(1)
    s_a = await klass.student(0)  # site A
    s_a2 = await klass.student(1)  # site A, another student
    s_b = await klass.student(8)  # site B
    a_id = klass.demo.students[0].id
    await s_a.ok("hand.raise")
    await fac_b.ok("hand.raise_site")
    for client in (teacher, fac_a, fac_b, s_a, s_a2, s_b):  # the count reaches everyone
        await client.wait_for(lambda f: f.get("type") == "hand.count" and f["data"]["queued"] == 2)
    await teacher.ok("hand.clear")  # the clear is the last event: the others came before it
    for client in (teacher, fac_a, fac_b, s_a, s_a2, s_b):
        await client.wait_for(lambda f: f.get("type") == "hand.cleared")
    assert _hands(teacher, "hand.raised") == [("user", a_id), ("site", None)]
    assert _hands(fac_a, "hand.raised") == [("user", a_id)]
    assert _hands(fac_b, "hand.raised") == [("site", None)]
    assert _hands(s_a, "hand.raised") == [("user", a_id)]
    assert _hands(s_a2, "hand.raised") == []
    assert _hands(s_b, "hand.raised") == []
    await s_a.ok("hand.raise")
    late = await klass.student(9)  # site B, connects now: the snapshot follows the same rule
    hands = late.welcome["snapshot"]["hands"]
    assert hands["queue"] == [] and hands["queued"] == 1
    mine = (await klass.student(0)).welcome["snapshot"]["hands"]
    assert [e["user_id"] for e in mine["queue"]] == [a_id]
    staff = (await klass.facilitator(0)).welcome["snapshot"]["hands"]
    assert [e["user_id"] for e in staff["queue"]] == [a_id]
