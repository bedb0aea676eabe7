"""A test LMS built to the IMS LTI 1.3 Advantage specifications: it stands in for Canvas or
Moodle, which cannot run here. A real HTTP server on a loopback port with its own RSA key pair:

- ``/jwks``: its public keys; ``/auth``: the OIDC authorization endpoint, which checks the
  tool's authentication request (client id, redirect URI, response type and mode, scope,
  prompt) and answers with an auto-post form carrying a signed ``id_token`` and the state;
- ``/token``: OAuth 2 client credentials, accepting only a JWT assertion signed by the tool's
  key as published at the tool's JWKS URL (iss = sub = client id, aud = this URL, unexpired,
  ``jti`` used once);
- ``/lineitems/{id}/scores``: AGS scores (bearer token with the score scope), kept with
  replace semantics by timestamp; it can be told to answer 503 for a while (an outage);
- ``/contexts/{id}/memberships``: NRPS members, in two pages linked by ``Link: rel=next``;
- ``/deep-link-return``: verifies the tool's signed LtiDeepLinkingResponse.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
CLIENT_ID = "hyflex-tool-1"
DEPLOYMENT = "deployment-1"
CONTEXT = "course-101"


@dataclass
class Person:
    sub: str
    name: str
    email: str
    roles: list[str]


@dataclass
class PendingLaunch:
    """What the next authentication request with this ``lti_message_hint`` launches."""

    person: Person
    message_type: str = "LtiResourceLinkRequest"
    resource_link: str = "rl-1"
    patch: dict[str, Any] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    key: RSAKey | None = None  # sign with another key (a forgery)
    lineitem: bool = True  # False: the AGS claim has only the line items URL (no column yet)


@dataclass
class ScorePost:
    lineitem: str
    user_id: str
    score_given: float
    score_maximum: float
    timestamp: str


class TestPlatform:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "platform-key-1", "alg": "RS256"})
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.issuer = self.base
        self.tool_base = ""
        self.launches: dict[str, PendingLaunch] = {}
        self.custom: dict[str, dict[str, str]] = {}  # resource link -> custom parameters
        self.deep_links: list[dict[str, Any]] = []
        self.tokens: dict[str, set[str]] = {}
        self.jtis: set[str] = set()
        self.outage = 0  # the next N score posts get 503
        self.outage_answers = 0
        self.accepted: list[ScorePost] = []
        self.results: dict[tuple[str, str], ScorePost] = {}
        self.members: list[Person] = []
        self.lineitems: dict[str, dict[str, Any]] = {}  # line items the tool created
        self.app = self._build()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]))
        async with httpx.AsyncClient() as http:  # bounded wait until it answers
            for _ in range(200):
                try:
                    if (await http.get(f"{self.base}/jwks")).status_code == 200:
                        return
                except httpx.HTTPError:
                    await asyncio.sleep(0.02)
        raise RuntimeError("the test platform did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 30)

    def registration(self) -> dict[str, Any]:
        """What an admin enters in the tool for this platform."""
        return {
            "name": "Test LMS",
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "deployment_ids": [DEPLOYMENT],
            "auth_login_url": f"{self.base}/auth",
            "token_url": f"{self.base}/token",
            "jwks_url": f"{self.base}/jwks",
            "link_by_email": True,
        }

    # -- id_tokens ---------------------------------------------------------------------------
    def id_token(self, launch: PendingLaunch, nonce: str) -> str:
        now = int(time.time())
        person = launch.person
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": person.sub,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "name": person.name,
            "email": person.email,
            LTI + "message_type": launch.message_type,
            LTI + "version": "1.3.0",
            LTI + "deployment_id": DEPLOYMENT,
            LTI + "roles": person.roles,
            LTI + "target_link_uri": f"{self.tool_base}/lti/launch",
            LTI + "context": {"id": CONTEXT, "title": "Physics 101 (LMS)"},
            NRPS: {
                "context_memberships_url": f"{self.base}/contexts/{CONTEXT}/memberships",
                "service_versions": ["2.0"],
            },
        }
        if launch.message_type == "LtiResourceLinkRequest":
            claims[LTI + "resource_link"] = {"id": launch.resource_link, "title": "Lesson"}
            claims[LTI + "custom"] = self.custom.get(launch.resource_link, {})
            claims[AGS] = {
                "scope": [LINEITEM_SCOPE, SCORE_SCOPE],
                "lineitems": f"{self.base}/lineitems",
            }
            if launch.lineitem:
                claims[AGS]["lineitem"] = f"{self.base}/lineitems/{launch.resource_link}"
        else:
            claims[DL + "deep_linking_settings"] = {
                "deep_link_return_url": f"{self.base}/deep-link-return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["window", "iframe"],
                "data": "opaque-platform-data",
            }
        claims.update(launch.patch)
        for name in launch.drop:
            claims.pop(name, None)
        key = launch.key or self.key
        return jwt.encode({"alg": "RS256", "kid": "platform-key-1"}, claims, key)

    # -- the tool's keys --------------------------------------------------------------------
    async def tool_keys(self) -> KeySet:
        async with httpx.AsyncClient() as http:
            resp = await http.get(f"{self.tool_base}/lti/jwks")
        resp.raise_for_status()
        return KeySet.import_key_set(resp.json())

    def _bearer(self, authorization: str | None, scope: str) -> bool:
        token = (authorization or "").removeprefix("Bearer ")
        return scope in self.tokens.get(token, set())

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return dict(KeySet([self.key]).as_dict(private=False))

        @app.get("/auth")
        async def auth(request: Request) -> Response:
            q = request.query_params
            expected = {
                "scope": "openid",
                "response_type": "id_token",
                "response_mode": "form_post",
                "prompt": "none",
                "client_id": CLIENT_ID,
                "redirect_uri": f"{self.tool_base}/lti/launch",
            }
            wrong = [k for k, v in expected.items() if q.get(k) != v]
            launch = self.launches.get(q.get("lti_message_hint", ""))
            if wrong or launch is None or q.get("login_hint") != launch.person.sub:
                return HTMLResponse(f"bad authentication request: {wrong}", status_code=400)
            if not q.get("state") or not q.get("nonce"):
                return HTMLResponse("no state or nonce", status_code=400)
            token = self.id_token(launch, q["nonce"])
            action = html.escape(expected["redirect_uri"])
            body = (
                f'<form method="post" action="{action}">'
                f'<input type="hidden" name="id_token" value="{html.escape(token)}">'
                f'<input type="hidden" name="state" value="{html.escape(q["state"])}">'
                "</form><script>document.forms[0].submit()</script>"
            )
            return HTMLResponse(body)

        @app.post("/token")
        async def token(
            grant_type: str = Form(""),
            client_assertion_type: str = Form(""),
            client_assertion: str = Form(""),
            scope: str = Form(""),
        ) -> JSONResponse:
            if grant_type != "client_credentials" or not client_assertion_type.endswith(
                "jwt-bearer"
            ):
                return JSONResponse({"error": "unsupported_grant_type"}, 400)
            try:
                claims = jwt.decode(client_assertion, await self.tool_keys()).claims
            except Exception:
                return JSONResponse({"error": "invalid_client"}, 401)
            now = time.time()
            ok = (
                claims.get("iss") == CLIENT_ID
                and claims.get("sub") == CLIENT_ID
                and claims.get("aud") in (f"{self.base}/token", [f"{self.base}/token"])
                and claims.get("exp", 0) > now
                and claims.get("jti") not in self.jtis
            )
            if not ok:
                return JSONResponse({"error": "invalid_client"}, 401)
            self.jtis.add(claims["jti"])
            granted = set(scope.split()) & {SCORE_SCOPE, LINEITEM_SCOPE, NRPS_SCOPE}
            access = secrets.token_urlsafe(16)
            self.tokens[access] = granted
            return JSONResponse(
                {"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                 "scope": " ".join(sorted(granted))}
            )  # fmt: skip

        @app.get("/lineitems")
        async def lineitems(
            resource_link_id: str = "", authorization: str | None = Header(None)
        ) -> Response:
            if not self._bearer(authorization, LINEITEM_SCOPE):
                return JSONResponse({"error": "unauthorized"}, 401)
            found = [i for i in self.lineitems.values() if i["resourceLinkId"] == resource_link_id]
            return JSONResponse(
                found, media_type="application/vnd.ims.lis.v2.lineitemcontainer+json"
            )

        @app.post("/lineitems")
        async def new_lineitem(
            request: Request, authorization: str | None = Header(None)
        ) -> Response:
            if not self._bearer(authorization, LINEITEM_SCOPE):
                return JSONResponse({"error": "unauthorized"}, 401)
            if request.headers.get("content-type") != "application/vnd.ims.lis.v2.lineitem+json":
                return JSONResponse({"error": "wrong media type"}, 415)
            body = await request.json()
            name = f"made-{len(self.lineitems) + 1}"
            item = {**body, "id": f"{self.base}/lineitems/{name}"}
            assert body["scoreMaximum"] > 0 and body["label"] and body["resourceLinkId"]
            self.lineitems[name] = item
            return JSONResponse(item, 201, media_type="application/vnd.ims.lis.v2.lineitem+json")

        @app.post("/lineitems/{item}/scores")
        async def scores(
            item: str, request: Request, authorization: str | None = Header(None)
        ) -> Response:
            if not self._bearer(authorization, SCORE_SCOPE):
                return JSONResponse({"error": "unauthorized"}, 401)
            if request.headers.get("content-type") != "application/vnd.ims.lis.v1.score+json":
                return JSONResponse({"error": "wrong media type"}, 415)
            if self.outage > 0:
                self.outage -= 1
                self.outage_answers += 1
                return JSONResponse({"error": "down for maintenance"}, 503)
            body = await request.json()
            post = ScorePost(
                item, body["userId"], body["scoreGiven"], body["scoreMaximum"], body["timestamp"]
            )
            assert body["activityProgress"] == "Completed"
            assert body["gradingProgress"] == "FullyGraded"
            self.accepted.append(post)
            key = (item, post.user_id)
            current = self.results.get(key)
            if current is None or current.timestamp < post.timestamp:  # replace by timestamp
                self.results[key] = post
            return Response(status_code=204)

        @app.get("/contexts/{context}/memberships")
        async def memberships(
            context: str, request: Request, page: int = 1, authorization: str | None = Header(None)
        ) -> Response:
            if not self._bearer(authorization, NRPS_SCOPE):
                return JSONResponse({"error": "unauthorized"}, 401)
            half = (len(self.members) + 1) // 2
            chunk = self.members[:half] if page == 1 else self.members[half:]
            headers = {}
            if page == 1:
                headers["Link"] = f'<{self.base}/contexts/{context}/memberships?page=2>; rel="next"'
            body = {
                "id": str(request.url),
                "context": {"id": context},
                "members": [
                    {"status": "Active", "user_id": p.sub, "name": p.name, "email": p.email,
                     "roles": p.roles}
                    for p in chunk
                ],
            }  # fmt: skip
            return JSONResponse(
                body,
                headers=headers,
                media_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
            )

        @app.post("/deep-link-return")
        async def deep_link_return(JWT: str = Form("")) -> Response:
            try:
                claims = jwt.decode(JWT, await self.tool_keys()).claims
            except Exception as exc:
                return HTMLResponse(f"signature refused: {exc}", 400)
            now = time.time()
            checks = {
                "iss": claims.get("iss") == CLIENT_ID,
                "aud": claims.get("aud") in (self.issuer, [self.issuer]),
                "exp": claims.get("exp", 0) > now,
                "nonce": bool(claims.get("nonce")),
                "type": claims.get(LTI + "message_type") == "LtiDeepLinkingResponse",
                "version": claims.get(LTI + "version") == "1.3.0",
                "deployment": claims.get(LTI + "deployment_id") == DEPLOYMENT,
                "data": claims.get(DL + "data") == "opaque-platform-data",
            }
            if not all(checks.values()):
                return HTMLResponse(f"refused: {checks}", 400)
            self.deep_links.extend(claims.get(DL + "content_items", []))
            return HTMLResponse("placed")

        return app


FORM_INPUT = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def read_form(page: str) -> tuple[str, dict[str, str]]:
    """A page's form: its action and hidden fields (what a browser would post)."""
    action = FORM_ACTION.search(page)
    assert action is not None, page[:500]
    fields = {k: html.unescape(v) for k, v in FORM_INPUT.findall(page)}
    return html.unescape(action.group(1)), fields
