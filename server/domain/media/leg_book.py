"""Who negotiated which media leg, and when to close the legs of someone who left.

A leg is ``(participant id, "publish" | "subscribe")`` and belongs to the user who negotiated
it. ``sweep`` compares the book with the legs the relay still has and with who is connected:
legs the relay dropped are forgotten; the legs of a user with no open websocket for ``grace``
seconds are to be closed (a quick resume keeps media flowing). Pure: time and the connected
test are passed in, the adapter closes the legs."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

Leg = tuple[str, str]  # (participant id, "publish" | "subscribe")


@dataclass(frozen=True, slots=True)
class Sweep:
    forgotten: list[Leg] = field(default_factory=list)  # the relay no longer has them
    closes: list[Leg] = field(default_factory=list)  # their owner is gone past the grace


class LegBook:
    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._owners: dict[Leg, int] = {}
        self._gone_since: dict[int, float] = {}

    def __contains__(self, leg: object) -> bool:
        return leg in self._owners

    def own(self, leg: Leg, user_id: int) -> None:
        self._owners[leg] = user_id
        self._gone_since.pop(user_id, None)

    def owner(self, leg: Leg) -> int | None:
        return self._owners.get(leg)

    def forget(self, leg: Leg) -> None:
        self._owners.pop(leg, None)

    def clear(self) -> None:
        self._owners.clear()
        self._gone_since.clear()

    def sweep(
        self,
        now: float,
        connected: Callable[[int], bool],
        publishers: Collection[str],
        subscribers: Collection[str],
        busy: Callable[[str], bool] = lambda pid: False,
    ) -> Sweep:
        """``publishers``/``subscribers``: the legs the relay has; ``busy(pid)``: a leg being
        negotiated now (left alone: the relay replaces a subscription in two steps)."""
        result = Sweep()
        for (pid, leg), user in list(self._owners.items()):
            live = publishers if leg == "publish" else subscribers
            if pid not in live and not busy(pid):
                del self._owners[(pid, leg)]
                result.forgotten.append((pid, leg))
                continue
            if connected(user):
                self._gone_since.pop(user, None)
                continue
            since = self._gone_since.setdefault(user, now)
            if now - since >= self.grace:
                result.closes.append((pid, leg))
        owners = set(self._owners.values())
        for user in [u for u in self._gone_since if u not in owners]:
            del self._gone_since[user]
        return result
