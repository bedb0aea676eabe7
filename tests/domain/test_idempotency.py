"""The two idempotency stores: every id for the session, or the most recent ones."""

from __future__ import annotations

import pytest

from server.domain.idempotency import IdempotencyStore, KeptStore, LruStore


def test_kept_store_keeps_every_id_until_cleared() -> None:
    store: IdempotencyStore[tuple[int | None, str | None]] = KeptStore()
    store.put((1, "a"), (7, "hash"))
    store.put((2, "a"), (None, None))
    assert store.get((1, "a")) == (7, "hash")
    assert store.get((2, "a")) == (None, None)  # a command without events still counts
    assert store.get((1, "b")) is None
    store.clear()
    assert store.get((1, "a")) is None


def test_lru_store_forgets_the_least_recently_used() -> None:
    store: LruStore[bool] = LruStore(2)
    store.put((1, "a"), True)
    store.put((1, "b"), True)
    assert store.get((1, "a")) is True  # used: now the most recent
    store.put((1, "c"), True)
    assert store.get((1, "b")) is None
    assert store.get((1, "a")) is True and store.get((1, "c")) is True
    assert len(store) == 2
    with pytest.raises(ValueError):
        LruStore(0)
