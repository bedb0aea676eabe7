"""One ticker per session: a single task that sleeps until the earliest time any part of the
session asked for (``server.domain.schedule``), runs the parts that are due and asks each when
it is next due. The parts are the runtime's own (tally flush, timed questions) and each
extension's ``tick``; a part with new work (a tally waiting, an output to flush) pokes it.

Times here are the ticker's clock (monotonic by default); a part that needs the wall clock for
its own rules reads it itself and converts its deadline to a delay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from server.domain.schedule import due_now, earliest, next_wake
from server.task_stop import stop_task

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # the longest sleep when nothing is planned (a poke wakes it sooner)
RETRY_SECONDS = 1.0  # a part that failed is tried again after this long
Tick = Callable[[float], Awaitable[float | None]]


class SessionTicker:
    def __init__(self, name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.clock = clock
        self._ticks: dict[str, Tick] = {}
        self._due: dict[str, float | None] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, part: str, tick: Tick, first_due: float | None = None) -> None:
        self._ticks[part] = tick
        self._due[part] = first_due
        self._wake.set()

    def poke(self, part: str, delay: float = 0.0) -> None:
        """``part`` is due in ``delay`` seconds (or sooner, if it already was)."""
        if part not in self._ticks:
            return
        at = self.clock() + delay
        due = earliest(self._due.get(part), at)
        if due != self._due.get(part):
            self._due[part] = due
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"{self.name}-ticker")

    async def close(self) -> None:
        task, self._task = self._task, None
        await stop_task(task)

    async def run_due(self) -> None:
        """Run every part due now, once (the loop's body; tests call it directly)."""
        now = self.clock()
        for part in due_now(now, self._due):
            self._due[part] = None  # a poke while it runs sets it again
            try:
                after = await self._ticks[part](now)
            except Exception:
                log.exception("%s: %s failed", self.name, part)
                after = now + RETRY_SECONDS
            self._due[part] = earliest(self._due.get(part), after)

    async def _run(self) -> None:
        while True:
            delay = next_wake(self.clock(), self._due.values(), IDLE_SECONDS)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):  # the earliest deadline, or a poke
                        await self._wake.wait()
            self._wake.clear()
            await self.run_due()
