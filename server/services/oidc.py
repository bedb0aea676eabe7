"""Staff single sign-on with an OpenID Connect provider (the school's Google Workspace, Microsoft
Entra ID or other identity provider), with authlib: the authorization code flow with PKCE
(S256), state and nonce; the provider's discovery document and keys (JWKS), cached; the id_token
verified (signature by the provider's keys, ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``).

What is pending between the redirect to the provider and its answer (state, nonce, PKCE
verifier) travels in a short-lived HttpOnly cookie signed with the server's key, so any node
behind the proxy can finish the sign-in."""

from __future__ import annotations

import hashlib
import hmac
import warnings
from dataclasses import dataclass
from typing import Any, Final

import httpx
import jwt
from authlib.common.security import generate_token
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from server.settings import Settings

with warnings.catch_warnings():
    # authlib's httpx client names a successor package that is not released for our httpx.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

PENDING_SECONDS: Final = 600
METADATA_SECONDS: Final = 3600
HTTP_TIMEOUT: Final = 10.0
MAX_DOCUMENT_BYTES: Final = 256 * 1024


class SignInFailed(Exception):
    """A refused or failed sign-in, in words for the person signing in."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class Pending:
    state: str
    nonce: str
    verifier: str


def _cookie_key(secret: str) -> str:
    return hmac.new(secret.encode(), b"hyflex-oidc-pending", hashlib.sha256).hexdigest()


def seal_pending(pending: Pending, secret: str, now: float) -> str:
    claims = {
        "st": pending.state,
        "n": pending.nonce,
        "v": pending.verifier,
        "exp": int(now) + PENDING_SECONDS,
    }
    return jwt.encode(claims, _cookie_key(secret), algorithm="HS256")


def open_pending(value: str | None, secret: str, now: float) -> Pending:
    if not value or len(value) > 2048:
        raise SignInFailed("this sign-in was not started here, or took too long: start again")
    try:
        claims = jwt.decode(
            value, _cookie_key(secret), algorithms=["HS256"], options={"verify_exp": False}
        )
    except jwt.PyJWTError as exc:
        raise SignInFailed("this sign-in could not be checked: start again") from exc
    if not isinstance(claims.get("exp"), int) or claims["exp"] < now:
        raise SignInFailed("this sign-in took more than 10 minutes: start again")
    return Pending(str(claims.get("st")), str(claims.get("n")), str(claims.get("v")))


class OidcProvider:
    """One configured provider; its discovery document and keys are cached for an hour (keys
    are fetched again once when a token names a key that is not known)."""

    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret.get_secret_value()
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._loaded_at = 0.0

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
                resp = await client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SignInFailed("the school's sign-in service cannot be reached", 502) from exc
        if resp.status_code != 200 or len(resp.content) > MAX_DOCUMENT_BYTES:
            raise SignInFailed("the school's sign-in service answered with an error", 502)
        try:
            data = resp.json()
        except ValueError as exc:
            raise SignInFailed("the school's sign-in service answered nonsense", 502) from exc
        if not isinstance(data, dict):
            raise SignInFailed("the school's sign-in service answered nonsense", 502)
        return data

    async def metadata(self, now: float) -> dict[str, Any]:
        if self._metadata is None or now - self._loaded_at > METADATA_SECONDS:
            data = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
            if any(not isinstance(data.get(k), str) for k in needed):
                raise SignInFailed("the school's sign-in service's settings are incomplete", 502)
            if data["issuer"].rstrip("/") != self.issuer:
                raise SignInFailed("the sign-in service names another issuer than configured", 502)
            self._metadata, self._jwks, self._loaded_at = data, None, now
        return self._metadata

    async def _key_set(self, now: float, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            self._jwks = await self._get_json((await self.metadata(now))["jwks_uri"])
        try:
            return KeySet.import_key_set(self._jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise SignInFailed("the school's sign-in keys cannot be read", 502) from exc

    def _client(self, metadata: dict[str, Any], redirect_uri: str) -> AsyncOAuth2Client:
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope="openid email profile",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=method,
            timeout=HTTP_TIMEOUT,
        )

    async def start(self, redirect_uri: str, now: float) -> tuple[str, Pending]:
        """Where to send the browser, and what to keep until the provider answers."""
        metadata = await self.metadata(now)
        pending = Pending(generate_token(32), generate_token(32), generate_token(64))
        async with self._client(metadata, redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=pending.state,
                code_verifier=pending.verifier,
                nonce=pending.nonce,
            )
        return str(url), pending

    async def finish(
        self, code: str, redirect_uri: str, pending: Pending, now: float
    ) -> dict[str, Any]:
        """Exchange the code (with the PKCE verifier) and return the verified id_token claims."""
        metadata = await self.metadata(now)
        try:
            async with self._client(metadata, redirect_uri) as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=pending.verifier
                )
        except httpx.HTTPError as exc:
            raise SignInFailed("the school's sign-in service cannot be reached", 502) from exc
        except Exception as exc:  # authlib's OAuthError and friends: the provider said no
            raise SignInFailed("the school's sign-in service refused the sign-in code") from exc
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str) or len(id_token) > 16384:
            raise SignInFailed("the school's sign-in service sent no identity token")
        return await self._verify(id_token, token, pending, metadata, now)

    async def _verify(
        self,
        id_token: str,
        token: dict[str, Any],
        pending: Pending,
        metadata: dict[str, Any],
        now: float,
    ) -> dict[str, Any]:
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in algorithms if a != "none"] or ["RS256"]
        registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
        try:
            try:
                decoded = jose_jwt.decode(id_token, await self._key_set(now), registry=registry)
            except JoseError as exc:
                if exc.error != "invalid_key_id":
                    raise
                keys = await self._key_set(now, refresh=True)
                decoded = jose_jwt.decode(id_token, keys, registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                options={
                    "iss": {"essential": True, "value": metadata["issuer"]},
                    "aud": {"essential": True, "value": self.client_id},
                },
                params={
                    "nonce": pending.nonce,
                    "client_id": self.client_id,
                    "access_token": token.get("access_token"),
                },
            )
            claims.validate(now=int(now), leeway=60)
        except JoseError as exc:
            raise SignInFailed(_explain(exc.error, exc.description)) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise SignInFailed("the identity token is malformed") from exc
        return dict(claims)


def _explain(error: str, description: str | None) -> str:
    text = f"{error} {description or ''}".lower()
    if "expired" in text:
        return "the identity token has expired: sign in again"
    if "signature" in text or "key" in text:
        return "the identity token's signature does not match the school's keys"
    if "nonce" in text:
        return "the identity token was not issued for this sign-in (nonce)"
    if "aud" in text:
        return "the identity token was issued for another application"
    if "iss" in text:
        return "the identity token comes from another issuer"
    return "the identity token was refused"
