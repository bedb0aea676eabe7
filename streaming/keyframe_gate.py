"""When to ask a publisher for a keyframe (a PLI): a pure rule, time passed in.

A new subscriber, a gap or an overflow wants a keyframe; publishers must not be flooded with
PLIs, so at most one request goes out per ``interval`` seconds. A request inside that window
is deferred to its end (later ones fold into it), and a deferred request is dropped when a
keyframe arrived after it was made: that keyframe already served it.

The gate returns verdicts and the adapter (``streaming.relay_source.RelaySource``) acts on
them (sends the PLI, sets the timer), as aiortc's jitter buffer returns ``(pli_flag, frame)``
and its receiver sends the PLI. It lives in ``streaming/`` rather than ``server/domain/``: the
relay is a library below the server and imports nothing from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

KEYFRAME_REQUEST_INTERVAL: Final = 0.5  # seconds between two PLIs to one publisher


@dataclass(frozen=True, slots=True)
class Fire:
    """Send a keyframe request now."""


@dataclass(frozen=True, slots=True)
class Defer:
    """Ask again in ``after`` seconds (``KeyframeGate.deferred`` then decides)."""

    after: float


FIRE: Final = Fire()
Verdict = Fire | Defer | None
"""``None``: nothing to do (a deferred request already covers this one)."""


class KeyframeGate:
    """The rate limit of one published video track's keyframe requests."""

    __slots__ = ("_deferred_since", "_interval", "_last_fired")

    def __init__(self, interval: float = KEYFRAME_REQUEST_INTERVAL) -> None:
        self._interval = interval
        self._last_fired: float | None = None
        self._deferred_since: float | None = None

    @property
    def deferring(self) -> bool:
        return self._deferred_since is not None

    def request(self, now: float) -> Verdict:
        """Someone wants a keyframe at ``now``."""
        if self._last_fired is None or now - self._last_fired >= self._interval:
            self._last_fired = now
            return FIRE
        if self._deferred_since is not None:
            return None
        self._deferred_since = now
        return Defer(self._last_fired + self._interval - now)

    def deferred(self, now: float, last_keyframe_at: float | None) -> Fire | None:
        """The deferred request's time has come: fire, unless a keyframe arrived since."""
        since, self._deferred_since = self._deferred_since, None
        if since is None:
            return None
        if last_keyframe_at is not None and last_keyframe_at >= since:
            return None
        self._last_fired = now
        return FIRE

    def cancel(self) -> None:
        """The track ended: forget a deferred request."""
        self._deferred_since = None
