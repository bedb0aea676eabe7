"""Dependency aliases for routes: the database session and the calling principal."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from server.auth.tokens import InvalidToken, TokenSigner
from server.db.models import User
from server.domain.signin_throttle import SigninThrottle
from server.services.principal import Principal
from server.settings import Settings


@dataclass
class Services:
    """Everything a request handler may need, built once per app."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    signer: TokenSigner
    signin_throttle: SigninThrottle
    # The wall clock of lesson times (REST start/end, the live sessions' writers): one place
    # for tests to put a clock they move.
    clock: Callable[[], float] = field(default=time.time)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def db_session(svc: Annotated[Services, Depends(services)]) -> AsyncIterator[AsyncSession]:
    async with svc.sessions() as session:
        yield session


_bearer = HTTPBearer(auto_error=False)


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


async def principal(
    svc: Annotated[Services, Depends(services)],
    db: Annotated[AsyncSession, Depends(db_session)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if creds is None:
        raise InvalidToken("sign in first: send 'Authorization: Bearer <token>'")
    return await load_principal(db, svc.signer, creds.credentials, time.time())


SvcDep = Annotated[Services, Depends(services)]
DB = Annotated[AsyncSession, Depends(db_session)]
Caller = Annotated[Principal, Depends(principal)]
