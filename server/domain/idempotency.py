"""One interface for "was this client message id already handled?", used by every message
family: the runtime's store (every id of the session, rebuilt from the event log on load, so
durable) and a bounded least-recently-used store for families whose effects are not logged
(engagement signals, media signalling). Keys are ``(user id, message id)``; the value is what a
retry gets back (the first answer)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Protocol, TypeVar

V = TypeVar("V")
Key = tuple[int, str]


class IdempotencyStore(Protocol[V]):
    def get(self, key: Key) -> V | None: ...

    def put(self, key: Key, value: V) -> None: ...

    def clear(self) -> None: ...


class KeptStore(Generic[V]):
    """Every id, for the life of the session: the runtime fills it from the log on load."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[Key, V] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Key) -> V | None:
        return self._items.get(key)

    def put(self, key: Key, value: V) -> None:
        self._items[key] = value

    def clear(self) -> None:
        self._items.clear()


class LruStore(Generic[V]):
    """The last ``capacity`` ids (a retry comes soon after the first try)."""

    __slots__ = ("_items", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._items: OrderedDict[Key, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Key) -> V | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: Key, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()
