"""The leg book: legs the relay dropped are forgotten, a gone owner's legs close after the
grace, a quick return keeps them."""

from __future__ import annotations

from server.domain.media.leg_book import LegBook


def test_gone_owner_legs_close_after_the_grace_and_a_return_keeps_them() -> None:
    book = LegBook(grace=5.0)
    book.own(("user-7", "publish"), 7)
    book.own(("user-7", "subscribe"), 7)
    book.own(("teacher", "subscribe"), 1)
    here = {1}
    pubs, subs = {"user-7"}, {"user-7", "teacher"}
    assert book.sweep(100.0, here.__contains__, pubs, subs).closes == []  # 7 just left
    assert book.sweep(103.0, here.__contains__, pubs, subs).closes == []
    here.add(7)  # back within the grace
    assert book.sweep(104.0, here.__contains__, pubs, subs).closes == []
    here.discard(7)
    assert book.sweep(105.0, here.__contains__, pubs, subs).closes == []  # a new countdown
    closes = book.sweep(110.0, here.__contains__, pubs, subs).closes
    assert closes == [("user-7", "publish"), ("user-7", "subscribe")]


def test_legs_the_relay_dropped_are_forgotten_unless_being_negotiated() -> None:
    book = LegBook(grace=5.0)
    book.own(("teacher", "subscribe"), 1)
    book.own(("user-7", "subscribe"), 7)
    swept = book.sweep(1.0, lambda user: True, set(), {"user-7"}, busy=lambda pid: False)
    assert swept.forgotten == [("teacher", "subscribe")]
    assert ("teacher", "subscribe") not in book and book.owner(("user-7", "subscribe")) == 7
    book.own(("teacher", "subscribe"), 1)
    swept = book.sweep(2.0, lambda user: True, set(), set(), busy=lambda pid: pid == "teacher")
    assert swept.forgotten == [("user-7", "subscribe")]
    assert book.owner(("teacher", "subscribe")) == 1
