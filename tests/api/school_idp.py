"""A test identity provider that stands in for the school's (Google Workspace, Microsoft Entra ID
or another OpenID Connect provider), which cannot be reached from here. It is a real HTTP server
on loopback with its own RSA key: discovery document, JWKS, /authorize (approves at once as
``next_email``) and /token (checks the client secret and the PKCE verifier against the
challenge, then signs an id_token). ``mode`` makes it misbehave the ways a test needs."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "hyflex-test-client"
CLIENT_SECRET = "test-client-secret-0123456789"


@dataclass
class SchoolIdp:
    issuer: str = ""
    next_email: str = "teacher@demo.hyflex"
    mode: str = "ok"  # ok, expired, tampered, wrong_nonce, wrong_audience, foreign_key
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "school-1"}))
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    pkce_checked: int = 0

    def jwks(self, _request: Request) -> Response:
        public = self.key.as_dict(private=False)
        return JSONResponse({"keys": [{**public, "use": "sig", "alg": "RS256"}]})

    def discovery(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "why": "PKCE required"}, 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "challenge": q["code_challenge"],
            "nonce": q.get("nonce", ""),
            "redirect_uri": q["redirect_uri"],
            "email": self.next_email,
        }
        return RedirectResponse(
            f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}", 302
        )

    async def token(self, request: Request) -> Response:
        form = await request.form()
        basic = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if basic != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(str(form.get("code")), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "why": "PKCE verifier"}, 400)
        self.pkce_checked += 1
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"school-{grant['email']}",
            "aud": "someone-else" if self.mode == "wrong_audience" else CLIENT_ID,
            "iat": now - (7200 if self.mode == "expired" else 0),
            "exp": now + (-3600 if self.mode == "expired" else 300),
            "nonce": "not-the-nonce" if self.mode == "wrong_nonce" else grant["nonce"],
            "email": grant["email"],
            "email_verified": True,
        }
        key = RSAKey.generate_key(2048, {"kid": "school-1"}) if self.mode == "foreign_key" else None
        id_token = jwt.encode({"alg": "RS256", "kid": "school-1"}, claims, key or self.key)
        if self.mode == "tampered":
            head, _body, sig = id_token.split(".")
            forged = {**claims, "email": "admin@demo.hyflex"}
            body = jwt.encode({"alg": "RS256"}, forged, self.key).split(".")[1]
            id_token = f"{head}.{body}.{sig}"
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "id_token": id_token,
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )


@asynccontextmanager
async def running_idp() -> AsyncIterator[SchoolIdp]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    idp = SchoolIdp(issuer=f"http://127.0.0.1:{sock.getsockname()[1]}")
    server = uvicorn.Server(uvicorn.Config(idp.app(), log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "the test identity provider did not start"
    try:
        yield idp
    finally:
        server.should_exit = True
        await task
        sock.close()
