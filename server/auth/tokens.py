"""Signed, expiring tokens (JWT, HS256): staff access tokens and student join links.

Claims: ``sub`` (user id), ``role``, ``typ`` (``access`` or ``join``), ``sid`` (the one session a
join link or a student's session token is bound to), ``gen`` (the user's token generation when
it was issued: a password change raises the user's, which revokes every earlier token),
``iat``, ``exp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import jwt

from server.domain.errors import DomainError
from server.domain.roles import Role

ALGORITHM = "HS256"
TokenType = Literal["access", "join"]


class InvalidToken(DomainError):
    """The token is malformed, forged, expired or of the wrong kind. Messages are plain words
    for the person holding the link: never the JWT library's own text."""

    code = "invalid_token"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    role: Role
    typ: TokenType
    session_id: int | None
    expires_at: int
    generation: int = 0


class TokenSigner:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def issue(
        self,
        *,
        user_id: int,
        role: Role,
        typ: TokenType,
        now: float,
        ttl_seconds: int,
        session_id: int | None = None,
        generation: int = 0,
    ) -> str:
        claims: dict[str, object] = {
            "sub": str(user_id),
            "role": role.value,
            "typ": typ,
            "iat": int(now),
            "exp": int(now) + ttl_seconds,
            "gen": generation,
        }
        if session_id is not None:
            claims["sid"] = session_id
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str, *, typ: TokenType, now: float) -> TokenClaims:
        if not token or len(token) > 4096:
            raise InvalidToken("the link or sign-in is not valid")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "role", "typ", "exp"], "verify_exp": False},
            )
        except jwt.PyJWTError:
            raise InvalidToken("the link or sign-in is not valid") from None
        if claims.get("typ") != typ:
            what = "a join link" if typ == "join" else "a sign-in"
            raise InvalidToken(f"this is not {what}")
        exp = claims["exp"]
        if not isinstance(exp, int) or exp <= now:
            raise InvalidToken("the link or sign-in has expired")
        try:
            user_id = int(claims["sub"])
            role = Role(claims["role"])
            sid = claims.get("sid")
            session_id = int(sid) if sid is not None else None
            generation = int(claims.get("gen", 0))
        except (TypeError, ValueError):
            raise InvalidToken("the link or sign-in is not valid") from None
        return TokenClaims(user_id, role, typ, session_id, exp, generation)
