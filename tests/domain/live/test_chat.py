"""Chat: who sees what (everyone, a site, private to the teacher), moderation by the teacher
and a site's facilitator, size and rate limits; every refusal is typed and changes nothing."""

from __future__ import annotations

import pytest

from server.domain.errors import BadInput, InvalidState, NotFound, NotPermitted, RateLimited
from server.domain.events import EVERYONE, Audience
from server.domain.live import Limits
from server.domain.live.commands import DeleteChat, MuteChat, SendChat, SetChat
from server.domain.roles import Actor

from .conftest import (
    ADMIN,
    EVERYBODY,
    FAC_A,
    FAC_B,
    REMOTE_STU,
    STU_A1,
    STU_A2,
    STU_B1,
    STU_B2,
    T0,
    TEACHER,
    Harness,
    check_replay,
    of_type,
)


def send(h: Harness, actor: Actor, text: str, to: str = "everyone", at: float = 10) -> int:
    event = of_type(h.do(actor, SendChat(text, to), T0 + at), "chat.sent")
    chat_id = event.data["chat_id"]
    assert isinstance(chat_id, int)
    return chat_id


def seen_by(h: Harness) -> dict[int, list[str]]:
    return {
        a.user_id: [m["text"] for m in h.session.snapshot_for(a)["chat"]["messages"]]
        for a in EVERYBODY
    }


def test_message_to_everyone_reaches_everyone(h: Harness) -> None:
    h.start()
    named = Actor(STU_A1.user_id, STU_A1.role, STU_A1.site_id, "Ana")
    event = of_type(h.do(named, SendChat("  hello all  "), T0 + 1), "chat.sent")
    assert event.audience == EVERYONE
    assert event.data == {
        "chat_id": 1, "user_id": 101, "site_id": 10, "name": "Ana", "to": "everyone",
        "text": "hello all",
    }  # fmt: skip
    assert all(texts == ["hello all"] for texts in seen_by(h).values())


def test_site_message_reaches_that_site_and_the_leaders_only(h: Harness) -> None:
    h.start()
    send(h, STU_A1, "room A only", "site")
    seen = {uid for uid, texts in seen_by(h).items() if texts}
    assert seen == {TEACHER.user_id, ADMIN.user_id, FAC_A.user_id, STU_A1.user_id, STU_A2.user_id}


def test_private_message_reaches_sender_and_leaders_only(h: Harness) -> None:
    h.start()
    send(h, STU_B1, "I am lost", "teacher")
    seen = {uid for uid, texts in seen_by(h).items() if texts}
    assert seen == {TEACHER.user_id, ADMIN.user_id, STU_B1.user_id}
    assert FAC_B.user_id not in seen  # not even the sender's own facilitator


def test_remote_student_has_no_site_channel(h: Harness) -> None:
    h.start()
    error = h.refuse(REMOTE_STU, SendChat("hi", "site"), T0 + 1, BadInput)
    assert "not at a site" in error.message


@pytest.mark.parametrize("to", ["all", "", "TEACHER", 3])
def test_unknown_channel_is_refused(h: Harness, to: object) -> None:
    h.start()
    h.refuse(STU_A1, SendChat("hi", to), T0 + 1, BadInput)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "  ", "\u200b", 7, "x" * 501])
def test_bad_or_oversized_text_is_refused(h: Harness, text: object) -> None:
    h.start()
    h.refuse(STU_A1, SendChat(text), T0 + 1, BadInput)  # type: ignore[arg-type]


def test_markup_is_kept_as_text(h: Harness) -> None:
    h.start()
    send(h, STU_A1, "<img src=x onerror=alert(1)>")
    assert seen_by(h)[TEACHER.user_id] == ["<img src=x onerror=alert(1)>"]


def test_chat_needs_a_live_session(h: Harness) -> None:
    h.refuse(STU_A1, SendChat("early"), T0 - 1, InvalidState)


def test_a_flood_is_rate_limited_and_the_bucket_refills() -> None:
    h = Harness(Limits(chat_burst=3, chat_rate_per_second=0.5))
    h.start()
    for i in range(3):
        send(h, STU_A1, f"m{i}", at=1)
    error = h.refuse(STU_A1, SendChat("one too many"), T0 + 1, RateLimited)
    assert "too many chat messages" in error.message
    send(h, STU_A2, "others are not held back", at=1)
    send(h, STU_A1, "after two seconds", at=3)
    check_replay(h)


def test_teacher_turns_chat_off_for_students_not_for_staff(h: Harness) -> None:
    h.start()
    h.do(TEACHER, SetChat(False), T0 + 1)
    error = h.refuse(STU_A1, SendChat("hi"), T0 + 2, NotPermitted)
    assert "turned chat off" in error.message
    send(h, FAC_A, "staff still speak", at=2)
    assert h.do(TEACHER, SetChat(False), T0 + 3) == []  # already off: a no-op
    h.do(TEACHER, SetChat(True), T0 + 4)
    send(h, STU_A1, "back on", at=5)
    assert h.session.snapshot_for(STU_B1)["chat"]["enabled"] is True


def test_facilitator_turns_chat_off_for_their_site_only(h: Harness) -> None:
    h.start()
    event = of_type(h.do(FAC_A, SetChat(False), T0 + 1), "chat.toggled")
    assert event.data == {"enabled": False, "site_id": 10, "by": FAC_A.user_id}
    h.refuse(STU_A2, SendChat("hi"), T0 + 2, NotPermitted)
    send(h, STU_B1, "site B still chats", at=2)
    h.refuse(FAC_A, SetChat(False, site_id=20), T0 + 3, NotPermitted)
    h.refuse(STU_A1, SetChat(True), T0 + 3, NotPermitted)
    assert h.session.snapshot_for(STU_A1)["chat"]["sites_off"] == [10]


def test_delete_hides_the_message_from_its_audience(h: Harness) -> None:
    h.start()
    chat_id = send(h, STU_A1, "rude words", "site")
    h.refuse(STU_A2, DeleteChat(chat_id), T0 + 2, NotPermitted)
    h.refuse(FAC_B, DeleteChat(chat_id), T0 + 2, NotFound)  # not theirs to see
    event = of_type(h.do(FAC_A, DeleteChat(chat_id), T0 + 2), "chat.deleted")
    assert event.audience == Audience("site", 10)
    assert all(texts == [] for texts in seen_by(h).values())
    assert h.do(TEACHER, DeleteChat(chat_id), T0 + 3) == []  # already deleted


def test_facilitator_may_not_delete_another_sites_message(h: Harness) -> None:
    h.start()
    chat_id = send(h, STU_B1, "from B")
    h.refuse(FAC_A, DeleteChat(chat_id), T0 + 2, NotPermitted)
    h.refuse(TEACHER, DeleteChat(999), T0 + 2, NotFound)
    h.refuse(TEACHER, DeleteChat(True), T0 + 2, BadInput)  # type: ignore[arg-type]


def test_muted_student_cannot_send_and_others_go_on(h: Harness) -> None:
    h.start()
    event = of_type(h.do(FAC_B, MuteChat(STU_B2.user_id), T0 + 1), "chat.muted")
    assert event.audience.includes(STU_B2) and not event.audience.includes(STU_B1)
    error = h.refuse(STU_B2, SendChat("let me talk"), T0 + 2, NotPermitted)
    assert "muted" in error.message
    assert h.session.snapshot_for(STU_B2)["chat"]["muted"] is True
    send(h, STU_B1, "still fine", at=3)
    h.do(TEACHER, MuteChat(STU_B2.user_id, muted=False), T0 + 4)
    send(h, STU_B2, "thanks", at=5)


def test_mute_permissions(h: Harness) -> None:
    h.start()
    h.refuse(FAC_A, MuteChat(STU_B1.user_id), T0 + 1, NotPermitted)  # another site
    h.refuse(STU_A1, MuteChat(STU_A2.user_id), T0 + 1, NotPermitted)
    h.refuse(TEACHER, MuteChat(FAC_A.user_id), T0 + 1, BadInput)
    h.refuse(TEACHER, MuteChat(424242), T0 + 1, NotFound)
    assert h.session.snapshot_for(TEACHER)["chat"]["muted_users"] == []


def test_snapshot_keeps_only_the_most_recent() -> None:
    h = Harness(Limits(chat_recent=2, chat_burst=10))
    h.start()
    for i in range(4):
        send(h, STU_A1, f"m{i}", at=1 + i)
    assert seen_by(h)[STU_B1.user_id] == ["m2", "m3"]
    check_replay(h)
