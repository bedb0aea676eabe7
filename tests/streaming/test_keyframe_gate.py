"""The keyframe gate's verdicts, with time passed in (no event loop, no relay)."""

from __future__ import annotations

import pytest

from streaming.keyframe_gate import FIRE, Defer, KeyframeGate


def test_the_first_request_fires_and_the_next_inside_the_window_is_deferred() -> None:
    gate = KeyframeGate(0.5)
    assert gate.request(10.0) is FIRE
    verdict = gate.request(10.2)
    assert isinstance(verdict, Defer) and verdict.after == pytest.approx(0.3)
    assert gate.deferring


def test_requests_during_a_deferral_fold_into_it() -> None:
    gate = KeyframeGate(0.5)
    gate.request(10.0)
    assert isinstance(gate.request(10.1), Defer)
    assert [gate.request(10.1 + i / 100) for i in range(10)] == [None] * 10


def test_a_deferred_request_fires_when_no_keyframe_came_since() -> None:
    gate = KeyframeGate(0.5)
    gate.request(10.0)
    gate.request(10.2)
    assert gate.deferred(10.5, last_keyframe_at=10.1) is FIRE  # that keyframe was before
    assert not gate.deferring
    assert isinstance(gate.request(10.6), Defer)  # the deferred fire started a new window


def test_a_keyframe_after_the_deferred_request_already_serves_it() -> None:
    gate = KeyframeGate(0.5)
    gate.request(10.0)
    gate.request(10.2)
    assert gate.deferred(10.5, last_keyframe_at=10.3) is None
    assert gate.request(10.55) is FIRE  # no request was sent at 10.5: the window is open


def test_after_the_window_a_request_fires_again() -> None:
    gate = KeyframeGate(0.5)
    assert gate.request(1.0) is FIRE
    assert gate.request(1.5) is FIRE


def test_cancel_forgets_the_deferred_request() -> None:
    gate = KeyframeGate(0.5)
    gate.request(1.0)
    gate.request(1.1)
    gate.cancel()
    assert not gate.deferring
    assert gate.deferred(1.5, None) is None
