"""Short-lived values the tool signs for the browser (HS256 with the server's secret): the
OIDC login's ``state`` and ``nonce`` (kept in a cookie between login and launch) and a Deep
Linking request's context (carried by the lesson picker's form)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Final

import jwt

from server.domain.lti.claims import LaunchRefused

STATE_TTL_S: Final = 600
PICKER_TTL_S: Final = 1800
COOKIE_PREFIX: Final = "lti_state_"


@dataclass(frozen=True, slots=True)
class LoginState:
    state: str
    nonce: str
    platform_id: int


class BrowserState:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    def _sign(self, typ: str, claims: dict[str, Any], now: float, ttl: int) -> str:
        body = {**claims, "typ": typ, "iat": int(now), "exp": int(now) + ttl}
        return jwt.encode(body, self._secret, algorithm="HS256")

    def _open(self, typ: str, value: str, now: float, what: str) -> dict[str, Any]:
        if not value or len(value) > 8192:
            raise LaunchRefused(what)
        try:
            claims: dict[str, Any] = jwt.decode(
                value, self._secret, algorithms=["HS256"], options={"verify_exp": False}
            )
        except jwt.PyJWTError:
            raise LaunchRefused(what) from None
        exp = claims.get("exp")
        if claims.get("typ") != typ or not isinstance(exp, int) or exp <= now:
            raise LaunchRefused(what)
        return claims

    def new_login(self, platform_id: int, now: float) -> tuple[LoginState, str]:
        """A fresh state and nonce; the cookie value that binds them to this browser."""
        login = LoginState(secrets.token_urlsafe(24), secrets.token_urlsafe(24), platform_id)
        cookie = self._sign(
            "lti-login",
            {"state": login.state, "nonce": login.nonce, "pid": platform_id},
            now,
            STATE_TTL_S,
        )
        return login, cookie

    def open_login(self, state: str, cookie: str | None, now: float) -> LoginState:
        what = (
            "the sign-in from the LMS did not come back to the browser that started it "
            "(state): open the link in your LMS again"
        )
        claims = self._open("lti-login", cookie or "", now, what)
        if claims.get("state") != state or not isinstance(claims.get("pid"), int):
            raise LaunchRefused(what)
        return LoginState(state, str(claims.get("nonce", "")), claims["pid"])

    def lesson_check(self, platform_id: int, lesson_id: int) -> str:
        """The check of a placed link's lesson, bound to the LMS it was placed in."""
        message = f"lti-lesson:{platform_id}:{lesson_id}".encode()
        return hmac.new(self._secret.encode(), message, hashlib.sha256).hexdigest()[:32]

    def lesson_checks_out(self, platform_id: int, lesson_id: int, check: str) -> bool:
        return hmac.compare_digest(self.lesson_check(platform_id, lesson_id), check)

    def picker(self, claims: dict[str, Any], now: float) -> str:
        return self._sign("lti-picker", claims, now, PICKER_TTL_S)

    def open_picker(self, value: str, now: float) -> dict[str, Any]:
        return self._open(
            "lti-picker", value, now, "the lesson picker has expired: start again from the LMS"
        )
