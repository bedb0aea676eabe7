"""Latest-per-key, rate-bounded flushing: live aggregates (poll tallies, engagement pulses)
change faster than people need them; only the latest value of each key is kept and they go out
at most once per ``interval`` seconds. Pure: times are passed in, the caller sends."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """``put`` keeps the latest value per key; ``due`` says when the next flush may run (None:
    nothing waits); ``take`` hands over what waits and starts the next interval."""

    __slots__ = ("_last", "_waiting", "interval")

    def __init__(self, interval: float) -> None:
        if not interval >= 0.0:
            raise ValueError("interval must be >= 0")
        self.interval = interval
        self._waiting: dict[K, V] = {}
        self._last: float | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    def put(self, key: K, value: V) -> None:
        self._waiting[key] = value

    def due(self) -> float | None:
        """The earliest time the waiting values may go out (None when nothing waits)."""
        if not self._waiting:
            return None
        return float("-inf") if self._last is None else self._last + self.interval

    def take(self, now: float) -> list[V]:
        """What waits, in the order the keys were first put, if a flush is due at ``now``."""
        due = self.due()
        if due is None or due > now:
            return []
        waiting, self._waiting = self._waiting, {}
        self._last = now
        return list(waiting.values())

    def drain(self) -> list[V]:
        """Everything that waits, regardless of the rate (on close)."""
        waiting, self._waiting = self._waiting, {}
        return list(waiting.values())
