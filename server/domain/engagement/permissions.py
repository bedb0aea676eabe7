"""Who may send which signal about whom. ``actor=None`` means the server itself.

- Students send only about themselves (else "forged signal"), only from their registered site,
  and never the server-only signals (answer results, missed polls, activities, server media
  stats) or "site needs help".
- A registered student presenting a staff role is refused ("a student cannot act as staff").
- "Site needs help" comes only from a facilitator of that site.
- Facilitators may press confused / raise a hand on behalf of a student of their own site.
- The teacher (or an admin) may start activities and mark answers, but sends no telemetry.
- Attention, face presence and client media stats come only from the student's own client.
- Face presence is refused unless the policy setting enables it.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.domain.engagement.settings import EngagementSettings
from server.domain.engagement.signals import (
    ActivityChanged,
    AnswerResult,
    Attention,
    ConfusedPressed,
    FacePresence,
    HandChanged,
    MediaStats,
    PollMissed,
    Signal,
    SiteNeedsHelp,
)
from server.domain.errors import NotFound, NotPermitted
from server.domain.roles import Actor, Role

SERVER_ONLY = AnswerResult | PollMissed
CLIENT_ONLY = Attention | FacePresence


def authorise(
    signal: Signal,
    actor: Actor | None,
    student_sites: Mapping[int, int | None],
    settings: EngagementSettings,
) -> None:
    """Raise NotPermitted / NotFound unless ``actor`` may send ``signal``."""
    if isinstance(signal, FacePresence) and not settings.face_presence_enabled:
        raise NotPermitted("face presence signals are disabled by policy")
    if isinstance(signal, SiteNeedsHelp):
        if actor is None or actor.role is not Role.FACILITATOR or actor.site_id != signal.site_id:
            raise NotPermitted("only a facilitator of that site can signal that it needs help")
        if actor.user_id in student_sites:
            raise NotPermitted("a student cannot act as staff")
        return
    if isinstance(signal, ActivityChanged):
        if actor is not None and not (actor.leads_session and actor.user_id not in student_sites):
            raise NotPermitted("only the teacher starts or ends an activity")
        return
    subject = signal.user_id
    site = _subject_site(subject, student_sites)
    if actor is None:
        if isinstance(signal, CLIENT_ONLY) or (
            isinstance(signal, MediaStats) and signal.source == "client"
        ):
            raise NotPermitted("this signal must come from the student's own client")
        if isinstance(signal, ConfusedPressed | HandChanged):
            raise NotPermitted("this signal must come from a person")
        return
    if actor.user_id in student_sites and actor.role is not Role.STUDENT:
        raise NotPermitted("a student cannot act as staff")
    if actor.role is Role.STUDENT:
        _check_student(signal, actor, subject, site)
        return
    # Staff from here on.
    if isinstance(signal, CLIENT_ONLY | MediaStats):
        raise NotPermitted("telemetry comes only from the student's own client or the server")
    if isinstance(signal, SERVER_ONLY):
        if not actor.leads_session:
            raise NotPermitted("only the server or the teacher marks answers and polls")
        return
    # ConfusedPressed / HandChanged on behalf of a student.
    if actor.role is Role.FACILITATOR and actor.site_id != site:
        raise NotPermitted("a facilitator acts only for students of their own site")


def _subject_site(subject: int, student_sites: Mapping[int, int | None]) -> int | None:
    try:
        return student_sites[subject]
    except KeyError:
        raise NotFound(f"student {subject} is not registered in this session") from None


def _check_student(signal: Signal, actor: Actor, subject: int, site: int | None) -> None:
    if isinstance(signal, SERVER_ONLY):
        raise NotPermitted("answer results and missed polls come only from the server")
    if isinstance(signal, MediaStats) and signal.source == "server":
        raise NotPermitted("a student cannot send server-side media stats")
    if subject != actor.user_id:
        raise NotPermitted(f"forged signal: student {actor.user_id} sent one about {subject}")
    if actor.site_id != site:
        raise NotPermitted("the student's site does not match their registration")


def check_staff(actor: Actor, site_id: int | None, student_sites: Mapping[int, int | None]) -> None:
    """Acknowledge/snooze: the teacher for any site, a facilitator for their own site only."""
    if actor.user_id in student_sites or not actor.is_staff:
        raise NotPermitted("only staff can acknowledge or snooze engagement alerts")
    if actor.role is Role.FACILITATOR and actor.site_id != site_id:
        raise NotPermitted("a facilitator handles alerts of their own site only")
