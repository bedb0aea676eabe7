"""Who belongs to a live session: user id -> Actor (role and site)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from server.domain.errors import BadInput, NotPermitted
from server.domain.roles import Actor, Role


class Roster:
    """The participants of one session. The roster, not the caller, is the authority on roles."""

    def __init__(self, actors: Iterable[Actor] = ()) -> None:
        self._actors: dict[int, Actor] = {}
        for actor in actors:
            self.add(actor)

    def add(self, actor: Actor) -> None:
        """Add or replace a participant. A facilitator must belong to a site."""
        if actor.role == Role.FACILITATOR and actor.site_id is None:
            raise BadInput("a facilitator must belong to a site")
        self._actors[actor.user_id] = actor

    def get(self, user_id: int) -> Actor | None:
        return self._actors.get(user_id)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._actors

    def __iter__(self) -> Iterator[Actor]:
        return iter(self._actors.values())

    def __len__(self) -> int:
        return len(self._actors)

    def verify(self, actor: Actor) -> Actor:
        """The roster's record of ``actor``; NotPermitted if absent or claiming another
        role or site."""
        known = self._actors.get(actor.user_id)
        if known is None:
            raise NotPermitted("not a participant of this session")
        if known.role != actor.role or known.site_id != actor.site_id:
            raise NotPermitted("actor does not match the session roster")
        return known
