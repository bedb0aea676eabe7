"""Staff single sign-on with OpenID Connect, against a test identity provider that stands in for
the school's (tests/api/school_idp.py: a real HTTP server on loopback with its own key): the
authorization code flow with PKCE signs a teacher in; a wrong domain, an expired or tampered
id_token, a token for another nonce, audience or key, and a wrong state are refused with a page
that says why; admins keep their password."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from server.app import create_app
from server.settings import Settings
from tests.api.school_idp import CLIENT_ID, CLIENT_SECRET, SchoolIdp, running_idp
from tests.api.world import build_world

PAGE = {"Accept": "text/html"}


@pytest.fixture
async def sso(settings: Settings) -> AsyncIterator[tuple[SchoolIdp, httpx.AsyncClient]]:
    async with running_idp() as idp:
        configured = settings.model_copy(
            update={
                "oidc_issuer": idp.issuer,
                "oidc_client_id": CLIENT_ID,
                "oidc_client_secret": SecretStr(CLIENT_SECRET),
                "oidc_allowed_domains": "demo.hyflex, Other.example",
            }
        )
        app = create_app(configured)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await build_world(app, client)
            yield idp, client
        await app.state.services.engine.dispose()


async def _sign_in(idp: SchoolIdp, client: httpx.AsyncClient, state: str | None = None) -> Any:
    """The browser's walk: our start page, the provider, back to our callback."""
    start = await client.get("/auth/sso/start", headers=PAGE)
    assert start.status_code == 303, start.text
    to_idp = start.headers["location"]
    assert to_idp.startswith(f"{idp.issuer}/authorize?")
    query = parse_qs(urlsplit(to_idp).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0]
    async with httpx.AsyncClient() as browser:
        back = await browser.get(to_idp)
    assert back.status_code == 302
    callback = urlsplit(back.headers["location"])
    assert callback.path == "/auth/sso/callback"
    params = parse_qs(callback.query)
    if state is not None:
        params["state"] = [state]
    return await client.get(
        "/auth/sso/callback",
        params={k: v[0] for k, v in params.items()},
        headers=PAGE,
    )


async def test_teacher_signs_in_with_the_school_account(sso: Any) -> None:
    idp, client = sso
    config = (await client.get("/api/auth/sso")).json()
    assert config == {"enabled": True, "start_url": "/auth/sso/start"}
    done = await _sign_in(idp, client)
    assert done.status_code == 303, done.text
    assert idp.pkce_checked == 1  # the provider checked our verifier against the challenge
    location = done.headers["location"]
    assert location.startswith("/#sso=")
    token = location.removeprefix("/#sso=")
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == "teacher@demo.hyflex"
    sessions = await client.get("/api/sessions", headers={"Authorization": f"Bearer {token}"})
    assert sessions.status_code == 200 and sessions.json()
    # The facilitator too; the local password still works.
    idp.next_email = "facilitator.north-a@demo.hyflex"
    done = await _sign_in(idp, client)
    assert done.status_code == 303 and done.headers["location"].startswith("/#sso=")


@pytest.mark.parametrize(
    ("mode", "email", "status", "words"),
    [
        ("ok", "teacher@elsewhere.example", 403, "accounts of elsewhere.example may not"),
        ("ok", "nobody@other.example", 403, "no staff account here"),
        ("ok", "admin@demo.hyflex", 403, "administrators sign in with their password"),
        ("ok", "student01@demo.hyflex", 403, "students join lessons"),
        ("expired", "teacher@demo.hyflex", 400, "has expired"),
        ("tampered", "teacher@demo.hyflex", 400, "signature does not match"),
        ("foreign_key", "teacher@demo.hyflex", 400, "signature does not match"),
        ("wrong_nonce", "teacher@demo.hyflex", 400, "not issued for this sign-in (nonce)"),
        ("wrong_audience", "teacher@demo.hyflex", 400, "issued for another application"),
    ],
)
async def test_refusals_have_a_clear_page(
    sso: Any, mode: str, email: str, status: int, words: str
) -> None:
    idp, client = sso
    idp.mode, idp.next_email = mode, email
    refused = await _sign_in(idp, client)
    assert refused.status_code == status
    assert refused.headers["content-type"].startswith("text/html")
    assert "Sign-in with your school account failed" in refused.text
    assert words.lower() in refused.text.lower()
    assert "Traceback" not in refused.text and "#sso=" not in refused.text


async def test_wrong_state_and_missing_cookie_are_refused(sso: Any) -> None:
    idp, client = sso
    refused = await _sign_in(idp, client, state="forged-state")
    assert refused.status_code == 400 and "(state)" in refused.text
    client.cookies.clear()
    alone = await client.get("/auth/sso/callback?code=abc&state=xyz", headers=PAGE)
    assert alone.status_code == 400 and "not started here" in alone.text
    api = await client.get("/auth/sso/callback?code=abc&state=xyz")
    assert api.status_code == 400 and api.json()["error"]["code"] == "sso_refused"
    said_no = await client.get("/auth/sso/callback?error=access_denied", headers=PAGE)
    assert said_no.status_code == 400 and "access_denied" in said_no.text


async def test_off_when_not_configured(app_and_client: Any) -> None:
    _app, client = app_and_client
    assert (await client.get("/api/auth/sso")).json() == {"enabled": False, "start_url": None}
    page = await client.get("/auth/sso/start", headers=PAGE)
    assert page.status_code == 404 and "not set up on this server" in page.text
