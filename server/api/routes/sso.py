"""Staff single sign-on with OpenID Connect (docs/roster.md "Staff single sign-on").

``/auth/sso/start`` sends the browser to the school's identity provider; the provider sends it
back to ``/auth/sso/callback``, which verifies the answer, finds the staff account by e-mail and
hands the browser the same access token a password sign-in gives, in the address's fragment
(``/#sso=...``: a fragment never reaches a server or a Referer). A refusal is a page saying why.
"""

from __future__ import annotations

import time
from html import escape
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import col, select

from server.api.deps import DB, SvcDep
from server.api.error_pages import PAGE, wants_page
from server.api.errors import error_body
from server.api.routes.web import SECURITY_HEADERS
from server.db.models import User
from server.domain.sso import account_refusal, email_from_claims
from server.services.oidc import OidcProvider, SignInFailed, open_pending, seal_pending

router = APIRouter(tags=["auth"])
COOKIE: Final = "hyflex_sso"
COOKIE_PATH: Final = "/auth/sso"
CALLBACK: Final = "/auth/sso/callback"
_providers: dict[tuple[str, str], OidcProvider] = {}


class SsoConfig(BaseModel):
    enabled: bool
    start_url: str | None = None


def _provider(svc: SvcDep) -> OidcProvider:
    settings = svc.settings
    if not settings.oidc_enabled:
        raise SignInFailed("sign-in with a school account is not set up on this server", 404)
    key = (settings.oidc_issuer, settings.oidc_client_id)
    if key not in _providers:
        _providers[key] = OidcProvider(settings)
    return _providers[key]


def _refusal(request: Request, failure: SignInFailed) -> Response:
    if not wants_page(request):
        return JSONResponse(error_body("sso_refused", failure.reason), status_code=failure.status)
    body = PAGE.format(
        title="Sign-in with your school account failed",
        message=escape(failure.reason[:1].upper() + failure.reason[1:] + "."),
    )
    response = HTMLResponse(body, status_code=failure.status, headers=SECURITY_HEADERS)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@router.get("/api/auth/sso", response_model=SsoConfig)
async def sso_config(svc: SvcDep) -> SsoConfig:
    """Whether the sign-in page shows "Sign in with your school account"."""
    if not svc.settings.oidc_enabled:
        return SsoConfig(enabled=False)
    return SsoConfig(enabled=True, start_url="/auth/sso/start")


@router.get("/auth/sso/start", response_class=RedirectResponse, status_code=303)
async def sso_start(request: Request, svc: SvcDep) -> Response:
    """To the school's identity provider (authorization code flow, PKCE, state and nonce)."""
    try:
        provider = _provider(svc)
        now = time.time()
        url, pending = await provider.start(svc.settings.base_url + CALLBACK, now)
    except SignInFailed as failure:
        return _refusal(request, failure)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE,
        seal_pending(pending, svc.settings.resolve_secret(), now),
        max_age=600,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=svc.settings.base_url.startswith("https://"),
    )
    return response


@router.get("/auth/sso/callback", response_class=RedirectResponse, status_code=303)
async def sso_callback(
    request: Request,
    svc: SvcDep,
    db: DB,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The provider's answer: verified, mapped to a staff account, signed in."""
    try:
        provider = _provider(svc)
        now = time.time()
        if error:
            raise SignInFailed(f"the school's sign-in service said: {error}")
        pending = open_pending(request.cookies.get(COOKIE), svc.settings.resolve_secret(), now)
        if not code or not state or state != pending.state:
            raise SignInFailed("this answer does not belong to the sign-in started here (state)")
        claims = await provider.finish(code, svc.settings.base_url + CALLBACK, pending, now)
        verdict = email_from_claims(claims, svc.settings.oidc_domains)
        if verdict.email is None:
            raise SignInFailed(verdict.refusal or "refused", 403)
        user = (await db.exec(select(User).where(col(User.email) == verdict.email))).first()
        refusal = account_refusal(user.role if user else None, bool(user and user.is_active))
        if refusal is not None or user is None or user.id is None:
            raise SignInFailed(refusal or "refused", 403)
    except SignInFailed as failure:
        return _refusal(request, failure)
    ttl = svc.settings.access_token_minutes * 60
    token = svc.signer.issue(
        user_id=user.id,
        role=user.role,
        typ="access",
        now=now,
        ttl_seconds=ttl,
        generation=user.token_generation,
    )
    response = RedirectResponse(f"/#sso={token}", status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
