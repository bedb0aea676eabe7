"""Dependency aliases for routes: the database session and the calling principal."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from server.auth.tokens import InvalidToken
from server.services.principal import Principal, load_principal
from server.services.registry import Services


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def db_session(svc: Annotated[Services, Depends(services)]) -> AsyncIterator[AsyncSession]:
    async with svc.sessions() as session:
        yield session


_bearer = HTTPBearer(auto_error=False)


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
