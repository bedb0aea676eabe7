"""When a session's one ticker wakes: each part says when it is next due (an absolute time,
or None for "nothing planned"); the ticker sleeps until the earliest, at most ``idle`` seconds,
and runs the parts that are due. Pure: ``now`` is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def next_wake(now: float, dues: Iterable[float | None], idle: float) -> float:
    """Seconds to sleep: 0 when something is already due, ``idle`` when nothing is planned."""
    planned = [d for d in dues if d is not None]
    if not planned:
        return idle
    return min(idle, max(0.0, min(planned) - now))


def due_now(now: float, dues: Mapping[str, float | None]) -> list[str]:
    """The parts due at ``now``, in the mapping's order."""
    return [name for name, due in dues.items() if due is not None and due <= now]


def earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
