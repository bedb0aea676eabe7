"""When the session ticker wakes and which parts it runs."""

from __future__ import annotations

from server.domain.schedule import due_now, earliest, next_wake


def test_next_wake_is_the_earliest_deadline_bounded_by_idle() -> None:
    assert next_wake(100.0, [None, None], idle=5.0) == 5.0
    assert next_wake(100.0, [103.0, None, 101.5], idle=5.0) == 1.5
    assert next_wake(100.0, [150.0], idle=5.0) == 5.0
    assert next_wake(100.0, [99.0, 120.0], idle=5.0) == 0.0  # overdue: now


def test_due_now_and_earliest() -> None:
    dues = {"tallies": 99.0, "media": 100.0, "questions": None, "engagement": 100.5}
    assert due_now(100.0, dues) == ["tallies", "media"]
    assert earliest(None, None) is None
    assert earliest(None, 3.0) == 3.0 and earliest(2.0, 3.0) == 2.0
