"""Every event type a live session emits (and accepts in ``apply``)."""

from __future__ import annotations

EVENT_TYPES = frozenset({
    "session.started", "session.ended",
    "presence.joined", "presence.left",
    "poll.opened", "poll.key", "poll.answered", "poll.tally", "poll.closed", "poll.revealed",
    "question.prepared", "question.shown", "question.closed", "question.answered",
    "question.tally",
    "qna.asked", "qna.voted", "qna.unvoted", "qna.votes", "qna.answered", "qna.hidden",
    "hand.raised", "hand.lowered", "hand.cleared", "stage.joined", "stage.left",
    "reaction.sent",
    "check.opened", "check.answered", "check.tally", "check.closed",
})  # fmt: skip

DERIVED_EVENT_TYPES = frozenset({"poll.tally", "question.tally", "qna.votes", "check.tally"})
"""Notifications of aggregates: kept in the log for the gateway, ignored by ``apply``."""
