"""Slides: the teacher's page changes are session state (snapshot for a late joiner or a
resume) with their lesson-clock positions (the catch-up player's page at a moment)."""

from __future__ import annotations

from server.domain.errors import BadInput, Conflict, InvalidState, NotPermitted
from server.domain.events import EVERYONE
from server.domain.live import Limits
from server.domain.live.commands import EndSession, HideSlides, Join, ShowSlide

from .conftest import (
    ADMIN,
    FAC_A,
    REMOTE_STU,
    STU_A1,
    T0,
    TEACHER,
    Harness,
    check_replay,
    of_type,
)


def test_show_goes_to_everyone_with_its_lesson_clock_position(h: Harness) -> None:
    h.start()
    shown = of_type(h.do(TEACHER, ShowSlide(3, 1), T0 + 12.5), "slides.shown")
    assert shown.audience == EVERYONE
    assert shown.data == {"deck_id": 3, "page": 1, "position": 12.5, "by": TEACHER.user_id}
    h.do(ADMIN, ShowSlide(3, 2), T0 + 70)
    current = h.session.snapshot_for(STU_A1)["slides"]
    assert current == {"current": {"deck_id": 3, "page": 2, "since": 70.0}}


def test_showing_the_page_already_shown_is_a_no_op(h: Harness) -> None:
    h.start()
    h.do(TEACHER, ShowSlide(3, 1), T0 + 1)
    assert h.do(TEACHER, ShowSlide(3, 1), T0 + 2) == []
    assert h.do(TEACHER, ShowSlide(4, 1), T0 + 3) != []


def test_a_late_joiner_and_a_resume_get_the_current_page(h: Harness) -> None:
    h.start(join=(TEACHER,))
    h.do(TEACHER, ShowSlide(5, 1), T0 + 10)
    h.do(TEACHER, ShowSlide(5, 4), T0 + 20)
    h.do(REMOTE_STU, Join(), T0 + 30)
    assert h.session.snapshot_for(REMOTE_STU)["slides"]["current"] == {
        "deck_id": 5,
        "page": 4,
        "since": 20.0,
    }
    # a resume rebuilds the session from its log: same page
    assert h.replayed().snapshot_for(REMOTE_STU)["slides"]["current"]["page"] == 4


def test_before_the_start_the_teacher_sets_the_opening_page_at_position_zero(h: Harness) -> None:
    shown = of_type(h.do(TEACHER, ShowSlide(2, 1), T0 - 100), "slides.shown")
    assert shown.data["position"] == 0.0
    h.start()
    assert h.session.snapshot_for(STU_A1)["slides"]["current"]["page"] == 1


def test_only_the_teacher_or_an_admin_presents(h: Harness) -> None:
    h.start()
    for who in (STU_A1, FAC_A):
        h.refuse(who, ShowSlide(1, 1), T0 + 1, NotPermitted)
        h.refuse(who, HideSlides(), T0 + 1, NotPermitted)


def test_bad_ids_and_pages_are_refused(h: Harness) -> None:
    h.start()
    for deck, page in ((0, 1), (1, 0), (1, -3), (2**31, 1), (1, 10_001), (True, 1), (1, False)):
        h.refuse(TEACHER, ShowSlide(deck, page), T0 + 1, BadInput)


def test_hide_then_show_again(h: Harness) -> None:
    h.start()
    assert h.do(TEACHER, HideSlides(), T0 + 1) == []  # nothing shown: no-op
    h.do(TEACHER, ShowSlide(1, 2), T0 + 5)
    hidden = of_type(h.do(TEACHER, HideSlides(), T0 + 9), "slides.hidden")
    assert hidden.data == {"position": 9.0, "by": TEACHER.user_id}
    assert h.session.snapshot_for(STU_A1)["slides"] == {"current": None}
    h.do(TEACHER, ShowSlide(1, 2), T0 + 12)  # the same page again after hiding is a change
    assert h.session.snapshot_for(STU_A1)["slides"]["current"]["page"] == 2


def test_after_the_end_the_history_drives_catch_up(h: Harness) -> None:
    h.start()
    h.do(TEACHER, ShowSlide(1, 1), T0 + 0)
    h.do(TEACHER, ShowSlide(1, 2), T0 + 60)
    h.do(TEACHER, HideSlides(), T0 + 90)
    h.do(TEACHER, ShowSlide(1, 3), T0 + 120)
    assert "history" not in h.session.snapshot_for(STU_A1)["slides"]  # live: current only
    h.do(TEACHER, EndSession(), T0 + 200)
    h.refuse(TEACHER, ShowSlide(1, 4), T0 + 201, InvalidState)
    history = h.session.snapshot_for(STU_A1)["slides"]["history"]
    assert [(c["position"], c["page"]) for c in history] == [
        (0.0, 1),
        (60.0, 2),
        (90.0, None),
        (120.0, 3),
    ]
    s = h.session
    assert s.slide_at(0) == {"deck_id": 1, "page": 1}
    assert s.slide_at(59.9) == {"deck_id": 1, "page": 1}
    assert s.slide_at(60) == {"deck_id": 1, "page": 2}
    assert s.slide_at(100) is None
    assert s.slide_at(5000) == {"deck_id": 1, "page": 3}


def test_page_changes_are_bounded() -> None:
    h = Harness(Limits(max_slide_changes=3))
    h.start()
    for page in (1, 2, 3):
        h.do(TEACHER, ShowSlide(1, page), T0 + page)
    h.refuse(TEACHER, ShowSlide(1, 4), T0 + 5, Conflict)
    check_replay(h)
