"""How long a finished lesson recording is kept: the verdict for each file, time passed in."""

from __future__ import annotations

from collections.abc import Iterable

DAY = 86_400.0


def expired(files: Iterable[tuple[str, float]], now: float, retention_days: int) -> list[str]:
    """Names of the files (``(name, finished_at)``) older than ``retention_days`` at ``now``;
    none when ``retention_days`` is 0 (kept until deleted by hand)."""
    if retention_days <= 0:
        return []
    cutoff = now - retention_days * DAY
    return sorted(name for name, finished_at in files if finished_at < cutoff)
