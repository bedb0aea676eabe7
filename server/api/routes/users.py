"""People: staff and students."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlmodel import col, select

from server.api.deps import DB, Caller
from server.api.schemas import PasswordIn, UserIn, UserOut
from server.auth.passwords import hash_password
from server.db.models import Site, User
from server.domain.errors import BadInput, Conflict, NotFound
from server.domain.roles import Role
from server.realtime.core.engine import RealtimeEngine
from server.realtime.core.gateway import CLOSE_UNAUTHORIZED
from server.services.access import require_role, user_filter
from server.services.ids import PathId

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("", response_model=list[UserOut])
async def list_users(who: Caller, db: DB) -> list[User]:
    require_role(who, {Role.ADMIN, Role.TEACHER, Role.FACILITATOR}, "list users")
    return list(await db.exec(select(User).where(user_filter(who)).order_by(col(User.id))))


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserIn, who: Caller, db: DB) -> User:
    require_role(who, {Role.ADMIN}, "create users")
    email = body.email.lower()
    if (await db.exec(select(User).where(col(User.email) == email))).first() is not None:
        raise Conflict(f"a user with e-mail {email} exists")
    if body.home_site_id is not None and await db.get(Site, body.home_site_id) is None:
        raise NotFound(f"site {body.home_site_id} not found")
    if body.role == Role.FACILITATOR and body.home_site_id is None:
        raise BadInput("a facilitator needs a home_site_id (the site they look after)")
    if body.role != Role.STUDENT and body.password is None:
        raise BadInput("staff sign in with a password: give one of at least 10 characters")
    user = User(
        email=email,
        display_name=body.display_name,
        role=body.role,
        home_site_id=body.home_site_id,
        password_hash=hash_password(body.password) if body.password else None,
    )
    db.add(user)
    await db.commit()
    return user


@router.get("/{user_id}", response_model=UserOut)
async def get_user(user_id: PathId, who: Caller, db: DB) -> User:
    user = (await db.exec(select(User).where(col(User.id) == user_id, user_filter(who)))).first()
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


@router.put("/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
async def set_password(
    user_id: PathId, body: PasswordIn, who: Caller, db: DB, request: Request
) -> None:
    """An admin sets a staff member's password (e.g. after a roster import, or when one is
    forgotten). Students sign in with join links and have none. Every token the user was
    issued before stops working: whoever held the old password or a token is signed out."""
    require_role(who, {Role.ADMIN}, "set passwords")
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if user.role == Role.STUDENT:
        raise BadInput("students sign in with join links, not passwords")
    user.password_hash = hash_password(body.password)
    user.token_generation += 1  # every token issued before is revoked
    db.add(user)
    await db.commit()
    realtime: RealtimeEngine | None = getattr(request.app.state, "realtime", None)
    if realtime is not None:  # live connections opened with an old token close too
        realtime.sign_out(user_id, CLOSE_UNAUTHORIZED)
