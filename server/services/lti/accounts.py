"""LMS users to accounts here: linked by platform and ``sub`` (``lti_user_link``), created on
first sight, or (for a platform registered with ``link_by_email``) linked to the account with
the same e-mail. Students are enrolled in the course they came from."""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.lti_models import LtiPlatform, LtiUserLink
from server.db.models import Enrolment, User
from server.domain.lti.claims import LaunchRefused
from server.domain.roles import Role


def placeholder_email(platform_id: int, sub: str) -> str:
    digest = hashlib.sha256(f"{platform_id}:{sub}".encode()).hexdigest()[:20]
    return f"lti-{platform_id}-{digest}@lti.invalid"


def fits(user: User, role: Role) -> bool:
    """May this account act in the LMS role? An admin may act as a teacher."""
    return user.role == role or (role is Role.TEACHER and user.role is Role.ADMIN)


async def _email_free(db: AsyncSession, email: str) -> bool:
    found = await db.exec(select(col(User.id)).where(col(User.email) == email))
    return found.first() is None


async def linked_user(
    db: AsyncSession, platform: LtiPlatform, sub: str, *, role: Role, name: str, email: str
) -> User:
    """The account for this LMS user, linked or made now (committed)."""
    assert platform.id is not None
    link = (
        await db.exec(
            select(LtiUserLink).where(
                col(LtiUserLink.platform_id) == platform.id, col(LtiUserLink.sub) == sub
            )
        )
    ).first()
    user = await db.get(User, link.user_id) if link is not None else None
    if user is None:
        user = await _first_sight(db, platform, sub, role=role, name=name, email=email)
    if not user.is_active:
        raise LaunchRefused("your account here is switched off: ask your school")
    if not fits(user, role):
        raise LaunchRefused(
            f"your LMS role ({role.value}) does not match your account here ({user.role.value})"
        )
    return user


async def _first_sight(
    db: AsyncSession, platform: LtiPlatform, sub: str, *, role: Role, name: str, email: str
) -> User:
    assert platform.id is not None
    email = email.strip().lower()
    user: User | None = None
    if platform.link_by_email and email:
        user = (await db.exec(select(User).where(col(User.email) == email))).first()
    if user is None:
        if not email or not await _email_free(db, email):
            email = placeholder_email(platform.id, sub)
        user = User(email=email, display_name=name or "LMS user", role=role)
        db.add(user)
        await db.flush()
    assert user.id is not None
    db.add(LtiUserLink(platform_id=platform.id, sub=sub, user_id=user.id))
    try:
        await db.commit()
    except IntegrityError:  # the same person launching twice at once: the other one won
        await db.rollback()
        link = (
            await db.exec(
                select(LtiUserLink).where(
                    col(LtiUserLink.platform_id) == platform.id, col(LtiUserLink.sub) == sub
                )
            )
        ).one()
        found = await db.get(User, link.user_id)
        assert found is not None
        return found
    await db.refresh(user)
    return user


async def enrol(db: AsyncSession, course_id: int, student_id: int) -> bool:
    """Enrol a student (remote, no site) unless enrolled; True when added."""
    found = await db.exec(
        select(Enrolment).where(
            col(Enrolment.course_id) == course_id, col(Enrolment.student_id) == student_id
        )
    )
    if found.first() is not None:
        return False
    db.add(Enrolment(course_id=course_id, student_id=student_id))
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        return False
    return True
