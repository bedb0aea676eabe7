"""Service access tokens from a platform (LTI Security Framework 4.1): OAuth 2 client
credentials, the tool authenticating with a JWT signed by its own key (RFC 7523
``private_key_jwt``), cached until shortly before they expire."""

from __future__ import annotations

import time
from collections.abc import Collection

import httpx
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc.jwk import RSAKey

from server.db.lti_models import LtiPlatform

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AGS_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
AGS_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS_READ = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


class ServiceError(RuntimeError):
    """A platform's service could not be reached or refused (the message is safe to show)."""


class ServiceTokens:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._cache: dict[tuple[int, tuple[str, ...]], tuple[float, str]] = {}

    def forget(self, platform: LtiPlatform) -> None:
        for key in [k for k in self._cache if k[0] == platform.id]:
            del self._cache[key]

    async def token(self, platform: LtiPlatform, key: RSAKey, scopes: Collection[str]) -> str:
        wanted = tuple(sorted(scopes))
        cache_key = (platform.id or 0, wanted)
        now = time.time()
        cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > now + 30:
            return cached[1]
        assertion = private_key_jwt_sign(
            key,
            platform.client_id,
            platform.token_audience or platform.token_url,
            alg="RS256",
            header={"alg": "RS256", "kid": key.kid},
            issued_at=int(now),
            expires_in=300,
        )
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": str(assertion),
            "scope": " ".join(wanted),
        }
        try:
            resp = await self.http.post(platform.token_url, data=form)
        except httpx.HTTPError as exc:
            raise ServiceError(f"the LMS could not be reached ({type(exc).__name__})") from exc
        if not resp.is_success:
            raise ServiceError(f"the LMS refused a service token ({resp.status_code})")
        try:
            body = resp.json()
            token = body["access_token"]
            expires_in = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise ServiceError("the LMS answered a token request with no token") from None
        if not isinstance(token, str) or not token:
            raise ServiceError("the LMS answered a token request with no token")
        self._cache[cache_key] = (now + expires_in, token)
        return token
