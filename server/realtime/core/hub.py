"""Fan-out of encoded frames to the connections of one session, per audience.

Each broadcast is encoded once by the caller; the hub only appends the same ``str`` to the
queue of every connection whose participant is in the audience. A connection's queue is
bounded: a client that falls too far behind is marked ``overflowed`` and its writer closes it;
the client reconnects and resumes from the last ``seq`` it saw.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from server.domain.events import Audience
from server.domain.roles import Actor, Role

K = TypeVar("K")


class Connection:
    """One participant's websocket, as the hub sees it: a bounded queue of frames to send.

    Fast path: when the connection's writer is idle and nothing is queued, ``push`` starts the
    send at once (``sender``) and, as a send to a writable socket does not suspend, finishes it
    without waking any task: at thousands of connections, waking one writer task per
    connection per broadcast cost about twice the send itself. A send that does suspend (the
    socket's buffer is full) is handed to the writer, which keeps the order."""

    __slots__ = (
        "actor",
        "close_code",
        "finishing",
        "idle",
        "inflight",
        "limit",
        "overflowed",
        "queue",
        "sender",
        "wake",
    )

    def __init__(
        self,
        actor: Actor,
        limit: int,
        sender: Callable[[str], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self.actor = actor
        self.limit = limit
        self.sender = sender
        self.queue: deque[str] = deque()
        self.wake = asyncio.Event()
        self.overflowed = False
        self.close_code: int | None = None
        self.finishing: int | None = None  # close with this code once the queue is sent
        self.idle = False  # the writer is waiting for work
        self.inflight: asyncio.Future[None] | None = None  # an eager send that suspended

    def kick(self, code: int) -> None:
        """Ask the writer to close the websocket with ``code`` (the client resumes)."""
        self.close_code = code
        self.wake.set()

    def finish(self, code: int) -> None:
        """Ask the writer to send what is queued (the errors that explain the close), then
        close the websocket with ``code``."""
        self.finishing = code
        self.wake.set()

    def push(self, frame: str, eager: bool = True) -> None:
        if self.overflowed or self.close_code is not None:
            return
        if (
            eager
            and self.idle
            and self.sender is not None
            and not self.queue
            and self.inflight is None
        ):
            try:
                self.inflight = start_eagerly(self.sender(frame))
            except Exception:  # the socket is gone: let the writer notice and finish
                self.close_code = 1011  # the gateway's CLOSE_SEND_FAILED
                self.wake.set()
                return
            if self.inflight is not None:
                self.wake.set()
            return
        if len(self.queue) >= self.limit:
            self.overflowed = True
            self.queue.clear()
        else:
            self.queue.append(frame)
        self.wake.set()

    def push_unbounded(self, frames: Iterable[str]) -> None:
        """Replies and the replay on resume: queued whole, whatever the live bound."""
        self.queue.extend(frames)
        self.wake.set()


def start_eagerly(coro: Coroutine[Any, Any, None]) -> asyncio.Future[None] | None:
    """Run ``coro`` until it first suspends. None if it finished there and then (exceptions
    propagate); otherwise a task that carries it on from where it stopped."""
    try:
        blocked_on = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_carry_on(coro, blocked_on))


async def _carry_on(coro: Coroutine[Any, Any, None], blocked_on: Any) -> None:
    while True:
        try:
            if isinstance(blocked_on, asyncio.Future):
                await blocked_on
            else:  # a bare yield: give the loop one turn
                await asyncio.sleep(0)
        except BaseException as exc:
            try:
                blocked_on = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            blocked_on = coro.send(None)
        except StopIteration:
            return


def _discard(index: dict[K, set[Connection]], key: K, conn: Connection) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(conn)
        if not members:
            del index[key]


class SessionHub:
    def __init__(self) -> None:
        # Set on a session's owner node in a cluster: every frame also goes to the other nodes.
        self.mirror: Callable[[str, Audience], None] | None = None
        self._all: set[Connection] = set()
        self._leaders: set[Connection] = set()
        self._by_user: dict[int, set[Connection]] = {}
        self._by_site: dict[int | None, set[Connection]] = {}
        self._facilitators_by_site: dict[int | None, set[Connection]] = {}

    def __len__(self) -> int:
        return len(self._all)

    def connections(self) -> frozenset[Connection]:
        return frozenset(self._all)

    def user_connections(self, user_id: int) -> int:
        return len(self._by_user.get(user_id, ()))

    def add(self, conn: Connection) -> None:
        actor = conn.actor
        self._all.add(conn)
        self._by_user.setdefault(actor.user_id, set()).add(conn)
        if actor.leads_session:
            self._leaders.add(conn)
        else:
            self._by_site.setdefault(actor.site_id, set()).add(conn)
            if actor.role == Role.FACILITATOR:
                self._facilitators_by_site.setdefault(actor.site_id, set()).add(conn)

    def remove(self, conn: Connection) -> None:
        actor = conn.actor
        self._all.discard(conn)
        self._leaders.discard(conn)
        _discard(self._by_user, actor.user_id, conn)
        _discard(self._by_site, actor.site_id, conn)
        _discard(self._facilitators_by_site, actor.site_id, conn)

    def targets(self, audience: Audience) -> Iterable[Connection]:
        """The connections an audience reaches (leaders are in every audience but ``user``)."""
        kind = audience.kind
        if kind == "everyone":
            return self._all
        if kind == "user":
            return self._by_user.get(audience.target or 0, ())
        if kind == "leaders":
            return self._leaders
        if kind == "user_and_staff":
            return (
                *self._leaders,
                *self._facilitators_by_site.get(audience.site, ()),
                *self._by_user.get(audience.target or 0, ()),
            )
        index = self._by_site if kind == "site" else self._facilitators_by_site
        return (*self._leaders, *index.get(audience.target, ()))

    def publish(self, frame: str, audience: Audience, eager: bool = True) -> int:
        """Queue ``frame`` for every connection in ``audience``. ``eager``: send at once to
        idle connections; a burst of several frames is better queued, so that each writer
        wakes once for all of them (measured: eager sends halve the cost of a lone broadcast
        and double that of a burst)."""
        if self.mirror is not None:
            self.mirror(frame, audience)
        count = 0
        for conn in self.targets(audience):
            conn.push(frame, eager)
            count += 1
        return count
