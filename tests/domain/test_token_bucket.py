"""The one token bucket, on a passed-in clock."""

from __future__ import annotations

import pytest

from server.domain.engagement.ratelimit import TokenBuckets
from server.domain.errors import RateLimited
from server.domain.token_bucket import TokenBucket


def test_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.spend(10.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.spend(10.25) is False  # half a token accrued
    assert bucket.spend(10.5) is True  # the other half: one token
    assert bucket.spend(100.0) and bucket.spend(100.0) and bucket.spend(100.0)
    assert bucket.spend(100.0) is False  # never more than the burst stored


def test_per_key_buckets_count_what_they_refuse() -> None:
    buckets = TokenBuckets(rate=1.0, burst=2, label="telemetry")
    buckets.take(7, 0.0)
    buckets.take(7, 0.0)
    with pytest.raises(RateLimited, match="telemetry rate limit"):
        buckets.take(7, 0.0)
    buckets.take(8, 0.0)  # another key has its own bucket
    buckets.take(7, 1.0)
    assert buckets.rejected == {7: 1} and buckets.total_rejected == 1


def test_a_keys_first_signal_passes_even_with_no_burst() -> None:
    buckets = TokenBuckets(rate=1.0, burst=0, label="explicit")
    buckets.take(7, 0.0)
    with pytest.raises(RateLimited):
        buckets.take(7, 5.0)
