"""Sign-in for staff (password) and for students (join link), and who am I."""

from __future__ import annotations

import math
import time

from fastapi import APIRouter, Request
from sqlmodel import col, select

from server.api.deps import DB, Caller, SvcDep
from server.api.errors import TooManyAttempts
from server.api.schemas import JoinIn, LoginIn, TokenOut, UserOut
from server.auth.passwords import verify_password
from server.auth.tokens import InvalidToken
from server.db.models import Enrolment, LiveSession, User
from server.domain.roles import Role
from server.services.join_links import catch_up_closes_at

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut)
async def login(body: LoginIn, db: DB, svc: SvcDep, request: Request) -> TokenOut:
    """Staff sign-in. Failures are throttled per client address and per account (429 with
    Retry-After; the policy is in server/domain/signin_throttle.py)."""
    email = body.email.lower()
    address = request.client.host if request.client else "unknown"
    throttle = svc.signin_throttle
    wait = throttle.wait(email, address, time.monotonic())
    if wait > 0:
        raise TooManyAttempts(
            f"too many failed sign-ins: try again in {math.ceil(wait)} s", retry_after=wait
        )
    user = (await db.exec(select(User).where(col(User.email) == email))).first()
    ok = verify_password(body.password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active or user.id is None:
        throttle.failed(email, address, time.monotonic())
        raise InvalidToken("wrong e-mail or password")
    throttle.succeeded(email, address, time.monotonic())
    ttl = svc.settings.access_token_minutes * 60
    token = svc.signer.issue(
        user_id=user.id,
        role=user.role,
        typ="access",
        now=time.time(),
        ttl_seconds=ttl,
        generation=user.token_generation,
    )
    return TokenOut(access_token=token, expires_in=ttl, user=UserOut.model_validate(user))


@router.post("/join", response_model=TokenOut)
async def join(body: JoinIn, db: DB, svc: SvcDep) -> TokenOut:
    """Exchange a student's join link for an access token bound to that one session. After the
    session has ended the same link opens the catch-up player (``session_status``) for
    ``HYFLEX_CATCHUP_DAYS`` after its end."""
    now = time.time()
    claims = svc.signer.verify(body.token, typ="join", now=now)
    user = await db.get(User, claims.user_id)
    live = await db.get(LiveSession, claims.session_id) if claims.session_id else None
    if user is None or user.id is None or live is None or not user.is_active:
        raise InvalidToken("this join link no longer matches a student and session")
    if claims.generation != user.token_generation:
        raise InvalidToken("this join link has been revoked: ask for a new one")
    enrolled = (
        await db.exec(
            select(Enrolment).where(
                col(Enrolment.course_id) == live.course_id, col(Enrolment.student_id) == user.id
            )
        )
    ).first()
    if enrolled is None or user.role != Role.STUDENT:
        raise InvalidToken("this join link's student is not enrolled in the course")
    closes = catch_up_closes_at(svc.settings, live)
    if closes is not None and now > closes.timestamp():
        raise InvalidToken(
            f"catch-up for this lesson closed on {closes:%Y-%m-%d %H:%M} UTC: "
            "ask your teacher for the recording"
        )
    ttl = min(svc.settings.access_token_minutes * 60, claims.expires_at - int(now))
    token = svc.signer.issue(
        user_id=user.id,
        role=user.role,
        typ="access",
        now=now,
        ttl_seconds=max(ttl, 60),
        session_id=live.id,
        generation=user.token_generation,
    )
    return TokenOut(
        access_token=token,
        expires_in=ttl,
        user=UserOut.model_validate(user),
        session_id=live.id,
        session_status=live.status,
        session_title=live.title,
    )


@router.get("/me", response_model=UserOut)
async def me(who: Caller, db: DB) -> UserOut:
    return UserOut.model_validate(await db.get(User, who.user_id))
