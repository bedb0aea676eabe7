"""Every event type a live session emits (and accepts in ``apply``), with its audience and
``data`` keys. Every event also carries ``at`` (the command's ``now``). Audiences:
E = everyone, L = leaders, U = the acting user only, T = tally audience (``site_staff(site)``
for a site, ``leaders`` for remote students, site None), H = a student's hand goes to that
student, their site's facilitators and the leaders (``user_and_staff``), a room's hand to
``site_staff(site)``; P = anyone's presence (joined and left alike, students and staff) goes to
the T audience of their site. Individual presence and reactions
never go to everyone: with thousands of students that would cost N^2 deliveries; everyone gets
the coalesced ``presence.counts`` and ``reaction.counts`` instead.

session.started   E  by
session.ended     E  by                    (implies: open polls/questions/checks closed,
                                            presence stints closed, hand queue and stage empty)
presence.joined   P  user_id, site_id, role
presence.left     P  user_id, site_id, seconds
presence.counts   E  students, sites[{site_id, students}]   (derived, after join/leave; students
                                            only: staff are not in head counts)
poll.opened       E  poll_id, anonymous, spec{public}, by
poll.key          L  poll_id, correct                      (only when the poll has a key)
poll.answered     U  poll_id, user_id, site_id, value, replaced
poll.tally        T  poll_id, site_id, answered, correct, counts | mean/median/min/max | texts
poll.total        L  poll_id, answered, correct, mean/median/min/max | texts   (numeric and
                                            text polls: a class total the sites' rows do not add
                                            up to; choice polls' totals are the sum of the rows)
poll.closed       E  poll_id, by
poll.revealed     E  poll_id, by, correct, results{answered, correct, counts|...}
question.prepared L  question_id, position, spec{public + correct}, by
question.shown    E  question_id, clock, spec{public}
question.total    L  question_id, answered, correct, mean/median/min/max | texts   (as poll.total)
question.closed   E  question_id, by
question.answered U  question_id, user_id, site_id, value, correct, catch_up, latency
question.tally    T  question_id, site_id, answered, correct, counts | ... | texts
qna.asked         E  qna_id, user_id, site_id, text
qna.voted         U  qna_id, user_id
qna.unvoted       U  qna_id, user_id
qna.votes         E  qna_id, votes
qna.answered      E  qna_id, by
qna.hidden        E  qna_id, by
hand.raised       H  kind, user_id, site_id, by
hand.lowered      H  kind, user_id, site_id, by, reason ("lowered"|"dismissed"|"on_stage"|"left")
hand.cleared      E  by
hand.count        E  queued                                          (derived, after the above)
stage.joined      E  kind, user_id, site_id, by
stage.left        E  kind, user_id, site_id, by, reason ("returned"|"left")
reaction.sent     L  user_id, site_id, reaction
reaction.counts   E  counts{reaction: n}                             (derived)
check.opened      E  check_id, prompt, by
check.answered    U  check_id, user_id, site_id, yes, replaced
check.tally       T  check_id, site_id, yes, no
check.closed      E  check_id, by
slides.shown      E  deck_id, page, position (lesson clock, s), by
slides.hidden     E  position, by
chat.sent         C  chat_id, user_id, site_id, name, to ("everyone"|"site"|"teacher"), text
chat.deleted      C  chat_id, by                    (C = the message's own audience: everyone;
                                            a site's people and the leaders; sender + leaders)
chat.toggled      E  enabled, site_id (None = the whole lesson), by
chat.muted        H  user_id, muted, by
moderation.mute_asked   U  user_id, by          (to the person asked: their page mutes its mic)
moderation.removed      H  user_id, site_id, by (their sockets close; their hello is refused)
moderation.readmitted   H  user_id, site_id, by
recording.started E  by                     (the session's recording indicator: on)
recording.stopped E  by                     (off; session.ended implies it)
caption.granted   H  user_id, by            (that person may add captions)
caption.revoked   H  user_id, by
caption.added     E  caption_id, user_id, start (lesson clock, seconds), text
"""

from __future__ import annotations

EVENT_TYPES = frozenset({
    "session.started", "session.ended",
    "presence.joined", "presence.left", "presence.counts",
    "poll.opened", "poll.key", "poll.answered", "poll.tally", "poll.total", "poll.closed",
    "poll.revealed",
    "question.prepared", "question.shown", "question.closed", "question.answered",
    "question.tally", "question.total",
    "qna.asked", "qna.voted", "qna.unvoted", "qna.votes", "qna.answered", "qna.hidden",
    "hand.raised", "hand.lowered", "hand.cleared", "hand.count", "stage.joined", "stage.left",
    "reaction.sent", "reaction.counts",
    "check.opened", "check.answered", "check.tally", "check.closed",
    "slides.shown", "slides.hidden",
    "chat.sent", "chat.deleted", "chat.toggled", "chat.muted",
    "moderation.mute_asked", "moderation.removed", "moderation.readmitted",
    "recording.started", "recording.stopped",
    "caption.granted", "caption.revoked", "caption.added",
})  # fmt: skip

DERIVED_EVENT_TYPES = frozenset({
    "poll.tally", "poll.total", "question.tally", "question.total", "qna.votes", "check.tally",
    "presence.counts", "reaction.counts", "hand.count",
})  # fmt: skip
"""Notifications of aggregates, ignored by ``apply``: the gateway does not log them but sends
the latest of each (per type, audience and ids) at a bounded rate."""
