"""Captions: the teacher grants the captioner role (staff or student) and takes it back; a
captioner adds captions on the lesson clock; everyone sees them; the WebVTT export."""

from __future__ import annotations

import pytest

from server.domain.errors import BadInput, InvalidState, NotPermitted, RateLimited
from server.domain.events import EVERYONE
from server.domain.live import Limits
from server.domain.live.commands import AddCaption, EndSession, GrantCaptioner, RevokeCaptioner
from server.exports.captions_vtt import cues_from, to_webvtt

from .conftest import FAC_A, STU_A1, STU_B1, T0, TEACHER, Harness, check_replay, of_type


def test_grant_then_caption_then_revoke(h: Harness) -> None:
    h.start()
    h.refuse(STU_A1, AddCaption("hello"), T0 + 5, NotPermitted)
    granted = of_type(h.do(TEACHER, GrantCaptioner(STU_A1.user_id), T0 + 5), "caption.granted")
    assert granted.audience.includes(STU_A1) and granted.audience.includes(FAC_A)
    assert not granted.audience.includes(STU_B1)
    assert h.session.snapshot_for(STU_A1)["captions"]["captioner"] is True
    added = of_type(h.do(STU_A1, AddCaption("  Newton's first law  "), T0 + 12), "caption.added")
    assert added.audience == EVERYONE
    assert added.data == {"caption_id": 1, "user_id": STU_A1.user_id, "start": 12.0,
                          "text": "Newton's first law"}  # fmt: skip
    h.do(STU_A1, AddCaption("a body at rest", position=11.5), T0 + 14)
    assert [c["text"] for c in h.session.snapshot_for(STU_B1)["captions"]["recent"]] == [
        "Newton's first law", "a body at rest",
    ]  # fmt: skip
    h.do(TEACHER, RevokeCaptioner(STU_A1.user_id), T0 + 15)
    h.refuse(STU_A1, AddCaption("more"), T0 + 16, NotPermitted)
    h.do(TEACHER, AddCaption("the teacher may caption too"), T0 + 17)


def test_staff_may_be_granted_and_only_leaders_grant(h: Harness) -> None:
    h.start()
    h.do(TEACHER, GrantCaptioner(FAC_A.user_id), T0 + 1)
    h.do(FAC_A, AddCaption("room A caption"), T0 + 2)
    h.refuse(FAC_A, GrantCaptioner(STU_A1.user_id), T0 + 3, NotPermitted)
    h.refuse(STU_A1, GrantCaptioner(STU_A1.user_id), T0 + 3, NotPermitted)
    assert h.do(TEACHER, GrantCaptioner(FAC_A.user_id), T0 + 4) == []
    assert h.session.snapshot_for(TEACHER)["captions"]["captioners"] == [FAC_A.user_id]
    assert h.session.snapshot_for(STU_A1)["captions"]["captioners"] == []


@pytest.mark.parametrize(
    "position", [-1.0, float("inf"), float("nan"), 100.0, 0.5, "soon", True]
)  # fmt: skip
def test_bad_positions_are_refused(h: Harness, position: object) -> None:
    h.start()
    h.do(TEACHER, GrantCaptioner(STU_A1.user_id), T0 + 1)
    h.refuse(STU_A1, AddCaption("x", position), T0 + 50, BadInput)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", " \u200b ", "x" * 301, 3])
def test_bad_text_is_refused(h: Harness, text: object) -> None:
    h.start()
    h.refuse(TEACHER, AddCaption(text), T0 + 1, BadInput)  # type: ignore[arg-type]


def test_caption_flood_is_rate_limited() -> None:
    h = Harness(Limits(caption_burst=2, caption_rate_per_second=1.0))
    h.start()
    h.do(TEACHER, AddCaption("one"), T0 + 1)
    h.do(TEACHER, AddCaption("two"), T0 + 1)
    h.refuse(TEACHER, AddCaption("three"), T0 + 1, RateLimited)
    h.do(TEACHER, AddCaption("three"), T0 + 2)
    check_replay(h)


def test_captions_need_a_live_lesson(h: Harness) -> None:
    h.refuse(TEACHER, AddCaption("early"), T0 - 1, InvalidState)
    h.start()
    h.do(TEACHER, EndSession(), T0 + 5)
    h.refuse(TEACHER, AddCaption("late"), T0 + 6, InvalidState)


def test_webvtt_export_on_the_lesson_clock(h: Harness) -> None:
    h.start()
    h.do(TEACHER, AddCaption("a <b> & c"), T0 + 2)
    h.do(TEACHER, AddCaption("earlier line", position=1.0), T0 + 3)
    h.do(TEACHER, AddCaption("much later"), T0 + 3725.25)
    cues = cues_from(h.log)
    assert [c.text for c in cues] == ["earlier line", "a <b> & c", "much later"]
    vtt = to_webvtt(cues)
    assert vtt.startswith("WEBVTT")
    assert "00:00:01.000 --> 00:00:02.000\nearlier line" in vtt
    assert "00:00:02.000 --> 00:00:08.000\na &lt;b&gt; &amp; c" in vtt
    assert "01:02:05.250 --> 01:02:11.250\nmuch later" in vtt
