"""The first admin of an empty install: the consortium (if there is none yet) and an admin
who signs in at ``/`` and sets everything else up in the web pages."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.api.schemas import UserIn
from server.auth.passwords import hash_password
from server.db.models import Consortium, User
from server.domain.errors import Conflict
from server.domain.roles import Role


async def create_first_admin(
    sessions: async_sessionmaker[AsyncSession],
    *,
    consortium: str,
    email: str,
    name: str,
    password: str,
) -> str:
    """Create the admin (and the consortium when none exists); what was done, in words.
    The same checks as the API's (``UserIn``): a bad e-mail or short password is a
    ``pydantic.ValidationError``, an e-mail in use a ``Conflict``."""
    body = UserIn(email=email, display_name=name, role=Role.ADMIN, password=password)
    async with sessions() as db:
        address = body.email.lower()
        if (await db.exec(select(User).where(col(User.email) == address))).first():
            raise Conflict(f"a user with e-mail {address} exists")
        existing = (await db.exec(select(Consortium).order_by(col(Consortium.id)))).first()
        done = f"consortium {existing.name!r} already there" if existing else ""
        if existing is None:
            db.add(Consortium(name=consortium))
            done = f"created consortium {consortium!r}"
        db.add(
            User(
                email=address,
                display_name=body.display_name,
                role=Role.ADMIN,
                password_hash=hash_password(password),
            )
        )
        await db.commit()
    return f"{done}; created admin {address}"
