"""An LTI launch, after its id_token checked out: the platform it names, the nonce used once,
the lesson its resource link opens (mapped on first launch from the Deep Linking custom
parameter), the LMS course remembered for roster sync, and where the browser goes next."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.auth.tokens import TokenSigner
from server.db.lti_models import LtiContext, LtiDeployment, LtiNonce, LtiPlatform, LtiResourceLink
from server.db.models import Course, LiveSession, User
from server.domain.live import SessionStatus
from server.domain.lti.claims import Launch, LaunchRefused
from server.domain.lti.deep_link import CHECK_PARAM, LESSON_PARAM
from server.domain.roles import Role
from server.services.join_links import make_join_link
from server.services.lti.accounts import enrol
from server.services.lti.browser_state import BrowserState
from server.settings import Settings

NONCE_KEEP_S = 3600.0


async def platform_for(db: AsyncSession, claims: dict[str, Any]) -> LtiPlatform:
    """The registration the (not yet verified) claims name by issuer and audience."""
    iss, aud = claims.get("iss"), claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not isinstance(iss, str) or len(iss) > 255:
        raise LaunchRefused("the launch comes from an LMS this tool is not registered with")
    rows = list(await db.exec(select(LtiPlatform).where(col(LtiPlatform.issuer) == iss)))
    if not rows:
        raise LaunchRefused("the launch comes from an LMS this tool is not registered with")
    for row in rows:
        if row.client_id in audiences:
            return row
    raise LaunchRefused("the launch is meant for another tool (audience)")


async def deployments(db: AsyncSession, platform_id: int) -> set[str]:
    rows = await db.exec(
        select(col(LtiDeployment.deployment_id)).where(
            col(LtiDeployment.platform_id) == platform_id
        )
    )
    return set(rows)


async def use_nonce(db: AsyncSession, platform_id: int, nonce: str, now: float) -> None:
    """Store the nonce; a second launch with it is a replay."""
    await db.exec(delete(LtiNonce).where(col(LtiNonce.expires_at) < now))
    db.add(LtiNonce(platform_id=platform_id, nonce=nonce[:255], expires_at=now + NONCE_KEEP_S))
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise LaunchRefused(
            "this launch was used already: open the link in your LMS again"
        ) from None


async def lesson_of(
    db: AsyncSession, platform: LtiPlatform, launch: Launch, state: BrowserState
) -> LiveSession:
    """The lesson the resource link opens; the link's line item and services kept current. A
    new link names its lesson in the custom parameters Deep Linking gave it, with the tool's
    check of the lesson for this LMS."""
    assert platform.id is not None
    link = (
        await db.exec(
            select(LtiResourceLink).where(
                col(LtiResourceLink.platform_id) == platform.id,
                col(LtiResourceLink.resource_link_id) == launch.resource_link_id,
            )
        )
    ).first()
    if link is None:
        raw = launch.custom.get(LESSON_PARAM, "")
        lesson_id = int(raw) if raw.isdigit() and len(raw) < 10 else 0
        check = launch.custom.get(CHECK_PARAM, "")
        placed = lesson_id and state.lesson_checks_out(platform.id, lesson_id, check)
        if not placed or await db.get(LiveSession, lesson_id) is None:
            raise LaunchRefused(
                "this LMS link is not connected to a lesson: the instructor places lessons "
                "with the tool's lesson picker (Deep Linking)"
            )
        link = LtiResourceLink(
            platform_id=platform.id,
            resource_link_id=launch.resource_link_id,
            session_id=lesson_id,
        )
    link.title = launch.resource_link_title or link.title
    if launch.lineitem_url or launch.lineitems_url:
        link.lineitem_url = launch.lineitem_url[:1000] or link.lineitem_url
        link.lineitems_url = launch.lineitems_url[:1000]
        link.scopes = list(launch.ags_scopes)
    db.add(link)
    try:
        await db.commit()
    except IntegrityError:  # a first launch racing another: the other one mapped it
        await db.rollback()
        return await lesson_of(db, platform, launch, state)
    live = await db.get(LiveSession, link.session_id)
    if live is None:
        raise LaunchRefused("the lesson of this LMS link no longer exists")
    return live


async def remember_context(
    db: AsyncSession, platform: LtiPlatform, launch: Launch, course_id: int
) -> None:
    """The LMS course this launch came from, and its roster service, for roster sync."""
    if not launch.context_id or platform.id is None:
        return
    row = (
        await db.exec(
            select(LtiContext).where(
                col(LtiContext.platform_id) == platform.id,
                col(LtiContext.context_id) == launch.context_id,
            )
        )
    ).first()
    if row is None:
        row = LtiContext(platform_id=platform.id, context_id=launch.context_id, course_id=course_id)
    elif row.course_id != course_id:
        return  # the LMS course stays with the first course it opened
    row.title = launch.context_title or row.title
    if launch.memberships_url:
        row.memberships_url = launch.memberships_url[:1000]
    db.add(row)
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()


@dataclass(frozen=True, slots=True)
class Entry:
    """Where the browser goes: a student's join link, or a staff page with a sign-in."""

    url: str


async def enter_lesson(
    db: AsyncSession,
    settings: Settings,
    signer: TokenSigner,
    user: User,
    role: Role,
    live: LiveSession,
) -> Entry:
    assert user.id is not None and live.id is not None
    now = time.time()
    if role is Role.STUDENT:
        await enrol(db, live.course_id, user.id)
        link = make_join_link(settings, signer, live=live, student=user, site_id=None, now=now)
        return Entry(f"/join#{link.token}")
    course = await db.get(Course, live.course_id)
    if course is None or (course.teacher_id != user.id and user.role is not Role.ADMIN):
        raise LaunchRefused(
            "you are not this course's teacher here: ask an admin to link your LMS account "
            "to your account in HyFlex Live"
        )
    page = "report" if live.status is SessionStatus.ENDED else "teacher"
    return Entry(f"/lti/enter?to=/{page}/{live.id}#{staff_token(settings, signer, user, now)}")


def staff_token(settings: Settings, signer: TokenSigner, user: User, now: float) -> str:
    assert user.id is not None
    return signer.issue(
        user_id=user.id,
        role=user.role,
        typ="access",
        now=now,
        ttl_seconds=settings.access_token_minutes * 60,
        generation=user.token_generation,
    )
