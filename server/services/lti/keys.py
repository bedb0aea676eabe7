"""The tool's RSA key pair: generated once, stored (``lti_tool_key``), published at /lti/jwks.
It signs Deep Linking responses and the client-credentials assertions of service calls."""

from __future__ import annotations

import secrets
import time
from typing import Any

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.lti_models import LtiToolKey

KEY_ROW = 1


async def tool_key(db: AsyncSession) -> RSAKey:
    """The key pair, made on first use (two processes racing: the first row wins)."""
    row = await db.get(LtiToolKey, KEY_ROW)
    if row is None:
        kid = secrets.token_urlsafe(12)
        key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
        jwk = {k: str(v) for k, v in key.as_dict(private=True).items()}
        db.add(LtiToolKey(id=KEY_ROW, kid=kid, private_jwk=jwk, created_at=time.time()))
        try:
            await db.commit()
        except IntegrityError:
            await db.rollback()
        row = await db.get(LtiToolKey, KEY_ROW)
        assert row is not None
    return RSAKey.import_key(dict(row.private_jwk))


def public_jwks(key: RSAKey) -> dict[str, Any]:
    return dict(KeySet([key]).as_dict(private=False))
