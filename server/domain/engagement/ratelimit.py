"""Per-user token buckets on the passed-in clock, with counts of what they rejected."""

from __future__ import annotations

from server.domain.errors import RateLimited

__all__ = ["RateLimited", "TokenBuckets"]


class TokenBuckets:
    """One bucket per key: ``rate`` tokens per second, at most ``burst`` stored."""

    __slots__ = ("_buckets", "burst", "label", "rate", "rejected")

    def __init__(self, rate: float, burst: int, label: str) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.label = label
        self._buckets: dict[int, list[float]] = {}
        self.rejected: dict[int, int] = {}

    def take(self, key: int, now: float) -> None:
        """Spend one token for ``key`` or raise ``RateLimited`` (counted, nothing else changes)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [self.burst - 1.0, now]
            return
        tokens = bucket[0] + (now - bucket[1]) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            self.rejected[key] = self.rejected.get(key, 0) + 1
            raise RateLimited(
                f"{self.label} rate limit: at most {self.rate:g}/s (burst {self.burst:g}) per user"
            )
        bucket[0] = tokens - 1.0

    def forget(self, key: int) -> None:
        self._buckets.pop(key, None)

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())
