"""Who is calling: the authenticated user behind a request or a websocket."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from server.auth.tokens import InvalidToken, TokenSigner
from server.db.models import User
from server.domain.roles import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    role: Role
    home_site_id: int | None
    display_name: str
    # A student who came in through a join link is limited to that one session.
    session_scope: int | None = None


async def load_principal(
    db: AsyncSession, signer: TokenSigner, token: str, now: float
) -> Principal:
    claims = signer.verify(token, typ="access", now=now)
    user = await db.get(User, claims.user_id)
    if user is None or not user.is_active or user.role != claims.role:
        raise InvalidToken("the token's user no longer exists or has changed")
    if claims.generation != user.token_generation:
        raise InvalidToken("signed out: the password was changed since; sign in again")
    return Principal(
        user_id=claims.user_id,
        role=user.role,
        home_site_id=user.home_site_id,
        display_name=user.display_name,
        session_scope=claims.session_id,
    )
