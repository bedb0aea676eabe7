"""Readiness of this node: what ``/readyz`` checks, each with a reason when it fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

CHECK_TIMEOUT_SECONDS = 2.0


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)  # name -> "ok" or the reason
    reasons: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.reasons

    def fail(self, name: str, reason: str) -> None:
        self.checks[name] = reason
        self.reasons.append(f"{name}: {reason}")


async def readiness(db: AsyncEngine, realtime: Any) -> Readiness:
    """Database reachable, Redis reachable when configured, every owned session's writer task
    alive, and not draining."""
    out = Readiness()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with db.connect() as conn:
                await conn.execute(text("SELECT 1"))
        out.checks["database"] = "ok"
    except Exception as exc:
        out.fail("database", f"unreachable ({type(exc).__name__})")
    cluster = getattr(realtime, "cluster", None)
    if cluster is None:
        out.checks["redis"] = "not configured"
    else:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                await cluster.redis.ping()
            out.checks["redis"] = "ok"
        except Exception as exc:
            out.fail("redis", f"unreachable ({type(exc).__name__})")
    dead = [
        runtime.session_id
        for runtime in realtime.runtimes()
        if not runtime.is_replica and not runtime.writer_alive()
    ]
    if dead:
        out.fail("sessions", f"writer stopped for session(s) {', '.join(map(str, dead))}")
    else:
        out.checks["sessions"] = "ok"
    # Set by the draining shutdown (SIGTERM): no new sessions are taken here.
    if getattr(realtime, "draining", False):
        out.fail("draining", "this node is shutting down")
    else:
        out.checks["draining"] = "no"
    return out
