"""Students' join links: how long they work, and the printable sheet of a site.

A link is for one student and one lesson. It works for the live lesson and, once the lesson has
ended, opens the catch-up player for ``HYFLEX_CATCHUP_DAYS`` more. Its signed ``exp`` covers the
scheduled start (or the moment it is handed out, if later) plus ``HYFLEX_JOIN_LINK_HOURS`` plus
the catch-up window; ``/api/auth/join`` also refuses a catch-up join later than the lesson's
actual end plus the window (``catch_up_closes_at``), so a lesson that ended early closes on time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import segno

from server.api.schemas import JoinLinkOut
from server.auth.tokens import TokenSigner
from server.db.models import LiveSession, User
from server.domain.roles import Role
from server.settings import Settings


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def catch_up_window(settings: Settings) -> timedelta:
    return timedelta(days=settings.catchup_days)


def catch_up_closes_at(settings: Settings, live: LiveSession) -> datetime | None:
    """When the lesson's links stop opening catch-up (None while it has not ended)."""
    if live.ended_at is None:
        return None
    return _aware(live.ended_at) + catch_up_window(settings)


def link_expires_at(settings: Settings, live: LiveSession, now: float) -> int:
    """The ``exp`` (seconds since the epoch) of a link handed out at ``now``."""
    closes = catch_up_closes_at(settings, live)
    if closes is not None:
        return int(closes.timestamp())
    start = now
    if live.scheduled_at is not None:
        start = max(now, _aware(live.scheduled_at).timestamp())
    lesson = timedelta(hours=settings.join_link_hours)
    return int(start + (lesson + catch_up_window(settings)).total_seconds())


def make_join_link(
    settings: Settings,
    signer: TokenSigner,
    *,
    live: LiveSession,
    student: User,
    site_id: int | None,
    now: float,
) -> JoinLinkOut:
    assert student.id is not None and live.id is not None
    expires = link_expires_at(settings, live, now)
    token = signer.issue(
        user_id=student.id,
        role=Role.STUDENT,
        typ="join",
        now=now,
        ttl_seconds=max(1, expires - int(now)),
        session_id=live.id,
        generation=student.token_generation,
    )
    return JoinLinkOut(
        student_id=student.id,
        display_name=student.display_name,
        site_id=site_id,
        url=f"{settings.base_url}/join#{token}",
        token=token,
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


def qr_svg_data_uri(url: str) -> str:
    """A QR code of ``url`` as an SVG data URI (black on white, quiet zone included), with
    medium error correction so a creased or smudged sheet still scans."""
    code = segno.make(url, error="m", micro=False)
    return str(code.svg_data_uri(scale=4, border=4, title="Join link"))
