"""Per-user token buckets on the passed-in clock, with counts of what they rejected."""

from __future__ import annotations

from server.domain.errors import RateLimited
from server.domain.token_bucket import TokenBucket

__all__ = ["RateLimited", "TokenBuckets"]


class TokenBuckets:
    """One bucket per key: ``rate`` tokens per second, at most ``burst`` stored."""

    __slots__ = ("_buckets", "burst", "label", "rate", "rejected")

    def __init__(self, rate: float, burst: int, label: str) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.label = label
        self._buckets: dict[int, TokenBucket] = {}
        self.rejected: dict[int, int] = {}

    def take(self, key: int, now: float) -> None:
        """Spend one token for ``key`` or raise ``RateLimited`` (counted, nothing else changes)."""
        bucket = self._buckets.get(key)
        if bucket is None:  # a key's first signal always passes
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.burst - 1.0)
            bucket.last = now
            return
        if not bucket.spend(now):
            self.rejected[key] = self.rejected.get(key, 0) + 1
            raise RateLimited(
                f"{self.label} rate limit: at most {self.rate:g}/s (burst {self.burst:g}) per user"
            )

    def forget(self, key: int) -> None:
        self._buckets.pop(key, None)

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())
