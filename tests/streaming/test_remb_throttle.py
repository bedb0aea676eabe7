"""The REMB throttle's verdicts, with time passed in (no event loop, no peer)."""

from __future__ import annotations

from streaming.remb_throttle import RembThrottle


def test_the_first_estimate_goes_out_and_a_steady_one_waits_for_the_interval() -> None:
    throttle = RembThrottle(interval=0.2)
    assert throttle.allow(1_000_000, 10.0)
    # an estimator that reports on every packet (over-use) at 30 packets in 0.19 s
    assert [throttle.allow(1_000_000 + i, 10.0 + i / 160) for i in range(1, 31)] == [False] * 30
    assert throttle.allow(1_000_000, 10.25)
    assert (throttle.sent, throttle.dropped) == (2, 30)


def test_a_fall_of_three_percent_or_more_goes_out_at_once() -> None:
    throttle = RembThrottle(interval=0.2)
    assert throttle.allow(1_000_000, 5.0)
    assert not throttle.allow(980_000, 5.01)  # 2 % lower: not urgent
    assert throttle.allow(970_000, 5.02)  # 3 % below the last one *sent*
    assert not throttle.allow(990_000, 5.03)  # a rise waits
    assert throttle.allow(500_000, 5.04)  # a lowered cap (weak-link mode) is sent at once


def test_a_clock_that_goes_back_does_not_silence_the_publisher() -> None:
    throttle = RembThrottle(interval=0.2)
    assert throttle.allow(800_000, 100.0)
    assert throttle.allow(800_000, 50.0)
    assert not throttle.allow(800_000, 50.1)
