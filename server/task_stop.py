"""Stopping background tasks for sure, in bounded time.

One ``task.cancel()`` is not always enough on Python 3.11: ``asyncio.wait_for`` drops a
cancellation that arrives in the same loop turn as its inner await completes (CPython
gh-86296, fixed in 3.12), and redis-py wraps every socket send in ``wait_for``. A task that
loops (a heartbeat, a pump) then carries on, and whoever awaits it after one cancel waits for
ever: a node that would not stop. ``stop_tasks`` cancels again while a task runs on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

STOP_SECONDS = 5.0  # the default bound on stopping a group of tasks
RECANCEL_SECONDS = 0.5  # a task still running this long after a cancel is cancelled again


async def stop_tasks(
    tasks: Iterable[asyncio.Task[Any]], within: float = STOP_SECONDS
) -> set[asyncio.Task[Any]]:
    """Cancel ``tasks`` and wait until they have ended, cancelling again every
    ``RECANCEL_SECONDS`` those that run on (a task's own clean-up after a cancel is given that
    long). Never raises what the tasks raised (their failures are logged); returns the tasks
    still running after ``within`` seconds, logged too."""
    current = asyncio.current_task()
    pending = {task for task in tasks if task is not current and not task.done()}
    every = {*pending}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while pending:
        for task in pending:
            task.cancel()
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_SECONDS, remaining))
    for task in every - pending:
        if not task.cancelled() and task.exception() is not None:
            log.warning("task %s failed while stopping", task.get_name(), exc_info=task.exception())
    for task in pending:
        log.warning("task %s did not stop within %.1f s", task.get_name(), within)
    return pending


async def stop_task(task: asyncio.Task[Any] | None, within: float = STOP_SECONDS) -> bool:
    """``stop_tasks`` for one task (or none); whether it has ended."""
    if task is None:
        return True
    return not await stop_tasks((task,), within)
