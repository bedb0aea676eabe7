"""The one token bucket: ``rate`` tokens a second, at most ``burst`` stored, time passed in.

Used by the websocket gateway (a connection's message budget) and by the engagement engine
(per-student telemetry and explicit signals, ``engagement.ratelimit.TokenBuckets``).
"""

from __future__ import annotations


class TokenBucket:
    """Slotted floats: one is kept for every open connection and every student."""

    __slots__ = ("burst", "last", "rate", "tokens")

    def __init__(self, rate: float, burst: float, tokens: float | None = None) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = self.burst if tokens is None else tokens
        self.last: float | None = None

    def spend(self, now: float) -> bool:
        """Take one token if there is one (True), else take nothing (False). Tokens accrue
        from the previous call (none before the first)."""
        elapsed = 0.0 if self.last is None else now - self.last
        self.last = now
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
