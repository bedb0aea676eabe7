"""What a session extension is (media, engagement), and the runtime's registry of them.

An extension lives as long as its session runtime: it is built by a factory when the runtime
loads (``load``), sees every stored event after it is published (``on_event``), answers the
client messages of its families (``handle``, e.g. every ``media.*`` message), does its periodic
work when the session's one ticker calls it (``tick(now)`` returns when it is next due, in the
ticker's clock, or None), and stops with the runtime (``close``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from server.realtime.core.event_log import LoggedEvent
    from server.realtime.core.protocol import ClientMessage
    from server.realtime.core.runtime import SessionRuntime
    from server.realtime.core.socket_context import SocketContext


@runtime_checkable
class SessionExtension(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def families(self) -> tuple[str, ...]: ...

    async def load(self) -> None: ...

    def on_event(self, logged: LoggedEvent) -> None: ...

    async def handle(self, ctx: SocketContext, message: ClientMessage) -> None: ...

    async def tick(self, now: float) -> float | None: ...

    async def close(self) -> None: ...


# Builds a runtime's extension (None: not available for this session).
ExtensionFactory = Callable[["SessionRuntime"], Awaitable["SessionExtension | None"]]
E = TypeVar("E")


class Extensions:
    """The extensions of one runtime, by name, in the order they were added."""

    def __init__(self) -> None:
        self._by_name: dict[str, SessionExtension] = {}
        self._all: tuple[SessionExtension, ...] = ()  # iterated for every stored event

    def add(self, extension: SessionExtension) -> None:
        if extension.name in self._by_name:
            raise ValueError(f"extension {extension.name!r} is already registered")
        self._by_name[extension.name] = extension
        self._all = tuple(self._by_name.values())

    def __iter__(self) -> Iterator[SessionExtension]:
        return iter(self._all)

    def __getitem__(self, name: str) -> SessionExtension:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str, kind: type[E]) -> E | None:
        """The extension called ``name`` if it is a ``kind`` (typed access for its family)."""
        found = self._by_name.get(name)
        return found if isinstance(found, kind) else None

    def for_family(self, family: str) -> SessionExtension | None:
        for extension in self._by_name.values():
            if family in extension.families:
                return extension
        return None


class OnClose:
    """An extension that only cleans up (the cluster plumbing of a session)."""

    families: tuple[str, ...] = ()

    def __init__(self, name: str, close: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self._close = close

    async def load(self) -> None:
        return None

    def on_event(self, logged: LoggedEvent) -> None:
        return None

    async def handle(self, ctx: SocketContext, message: ClientMessage) -> None:
        return None

    async def tick(self, now: float) -> float | None:
        return None

    async def close(self) -> None:
        await self._close()
