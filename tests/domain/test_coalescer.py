"""The coalescer keeps the latest value per key and lets them out at a bounded rate."""

from __future__ import annotations

import pytest

from server.domain.coalescer import Coalescer


def test_latest_per_key_in_first_put_order() -> None:
    c: Coalescer[str, int] = Coalescer(0.5)
    assert c.due() is None and c.take(0.0) == []
    c.put("a", 1)
    c.put("b", 2)
    c.put("a", 3)
    assert c.take(10.0) == [3, 2]
    assert c.due() is None and len(c) == 0


def test_flushes_are_at_least_an_interval_apart() -> None:
    c: Coalescer[str, int] = Coalescer(0.5)
    c.put("a", 1)
    assert c.take(10.0) == [1]  # the first flush goes out at once
    c.put("a", 2)
    assert c.due() == 10.5
    assert c.take(10.2) == []  # too soon: kept
    assert c.take(10.5) == [2]


def test_drain_ignores_the_rate_and_bad_intervals_are_refused() -> None:
    c: Coalescer[str, int] = Coalescer(1.0)
    c.put("a", 1)
    c.take(0.0)
    c.put("a", 2)
    assert c.drain() == [2]
    with pytest.raises(ValueError):
        Coalescer(float("nan"))
