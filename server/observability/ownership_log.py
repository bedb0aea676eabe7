"""One structured log line (JSON, logger ``hyflex.ownership``) for each claim, takeover,
release and loss of a live session's ownership, so an operator can follow a session from node
to node (``journalctl -u 'hyflex@*' | grep hyflex.ownership``).

Fields: ``event`` (``claim``: this node became the session's writer, rebuilding it from the
log up to ``last_seq``; ``owner_gone``: a node serving a copy found the owner's claim gone;
``takeover``: a node serving a copy became the writer in place; ``release``: the owner let go;
``lost``: the owner found its claim taken), ``session``, ``node``, ``at`` (unix time) and, for
claims, ``last_seq``."""

from __future__ import annotations

import json
import logging
import time

log = logging.getLogger("hyflex.ownership")


def _line(event: str, session_id: int, node: str, **extra: int | str) -> None:
    fields = {"event": event, "session": session_id, "node": node, "at": round(time.time(), 3)}
    log.info("%s", json.dumps({**fields, **extra}, separators=(",", ":")))


def claimed(session_id: int, node: str, last_seq: int) -> None:
    """This node became the session's writer, loading it from the log."""
    _line("claim", session_id, node, last_seq=last_seq)


def owner_gone(session_id: int, node: str) -> None:
    """A node serving a copy found that no node holds the session's writer lease."""
    _line("owner_gone", session_id, node)


def took_over(session_id: int, node: str, last_seq: int) -> None:
    """A node serving a copy became the writer in place (its clients stay connected)."""
    _line("takeover", session_id, node, last_seq=last_seq)


def released(session_id: int, node: str) -> None:
    _line("release", session_id, node)


def lost(session_id: int, node: str) -> None:
    _line("lost", session_id, node)
