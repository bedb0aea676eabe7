"""Checking a launch's ``id_token``: which registered platform sent it, its signature against
the platform's published keys (JWKS, cached; fetched again once for an unknown ``kid``), then
the claims (``server.domain.lti.claims``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from server.db.lti_models import LtiPlatform
from server.domain.lti.claims import LaunchRefused

JWKS_TTL_S = 300.0
MAX_TOKEN = 16_384
ALGORITHMS = ["RS256", "RS384", "RS512"]


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, unverified: only to find the platform whose keys check the rest."""
    if not token or len(token) > MAX_TOKEN:
        raise LaunchRefused("the launch carries no valid id_token")
    try:
        compact = extract_compact(token.encode())
        claims = json.loads(compact.payload)
    except (JoseError, ValueError):
        raise LaunchRefused("the launch carries no valid id_token") from None
    if not isinstance(claims, dict):
        raise LaunchRefused("the launch carries no valid id_token")
    return dict(compact.headers()), claims


class PlatformKeys:
    """Each platform's JWKS, cached for a few minutes."""

    def __init__(self, http: httpx.AsyncClient, clock: Callable[[], float] = time.monotonic):
        self.http = http
        self.clock = clock
        self._cache: dict[int, tuple[float, KeySet]] = {}

    async def _fetch(self, platform: LtiPlatform) -> KeySet:
        try:
            resp = await self.http.get(platform.jwks_url, headers={"Accept": "application/json"})
            resp.raise_for_status()
            keys = KeySet.import_key_set(resp.json())
        except (httpx.HTTPError, ValueError, JoseError):
            raise LaunchRefused("the LMS's keys could not be fetched: try again shortly") from None
        self._cache[platform.id or 0] = (self.clock(), keys)
        return keys

    async def keyset(self, platform: LtiPlatform, kid: str | None) -> KeySet:
        cached = self._cache.get(platform.id or 0)
        if cached is not None and self.clock() - cached[0] < JWKS_TTL_S:
            known = {k.kid for k in cached[1].keys}
            if kid is None or kid in known:
                return cached[1]
        return await self._fetch(platform)

    async def verify(self, platform: LtiPlatform, token: str) -> dict[str, Any]:
        """The token's claims once its signature checks against the platform's keys."""
        header, _ = peek(token)
        kid = header.get("kid")
        keys = await self.keyset(platform, kid if isinstance(kid, str) else None)
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            raise LaunchRefused("the launch's signature does not match the LMS's keys") from None
        return dict(decoded.claims)
