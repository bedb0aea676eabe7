"""LTI 1.3 tool endpoints, public by design (the LMS and the person's browser call them; each
checks what it is sent instead of a sign-in): OIDC login initiation, the launch, the tool's
public keys, and the Deep Linking lesson picker's answer. docs/lms.md has the flow."""

from __future__ import annotations

import re
import secrets
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from sqlmodel import col, select

from server.api.deps import DB, SvcDep
from server.api.routes import lti_pages
from server.db.lti_models import LtiPlatform
from server.db.models import Course, LiveSession, User
from server.domain.live import SessionStatus
from server.domain.lti.claims import DEEP_LINKING_REQUEST, Expected, LaunchRefused, check_launch
from server.domain.lti.deep_link import content_item, response_claims
from server.domain.roles import Role
from server.services.lti.accounts import linked_user
from server.services.lti.browser_state import COOKIE_PREFIX, STATE_TTL_S
from server.services.lti.keys import public_jwks, tool_key
from server.services.lti.launch import (
    deployments,
    enter_lesson,
    lesson_of,
    platform_for,
    remember_context,
    use_nonce,
)
from server.services.lti.platform_keys import peek
from server.services.lti.tool import LtiTool

router = APIRouter(prefix="/lti", tags=["lti"])
STATE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_FIELD = 2000
Field = Annotated[str, Form()]  # lengths are checked where each is read


def _tool(request: Request) -> LtiTool:
    tool: LtiTool = request.app.state.lti
    return tool


async def _login_params(request: Request) -> dict[str, str]:
    """The login initiation's parameters, from the query (GET) or the form (POST)."""
    source: Any = request.query_params
    if request.method == "POST":
        source = await request.form()
    return {
        k: v
        for k in ("iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id")
        if isinstance(v := source.get(k, ""), str) and len(v) <= MAX_FIELD
    }


@router.get("/login", response_class=HTMLResponse)
async def login_get(request: Request, db: DB, svc: SvcDep) -> Response:
    """OIDC third-party-initiated login, parameters in the query (see the POST form)."""
    return await _login(request, db, svc)


@router.post("/login", response_class=HTMLResponse)
async def login_post(request: Request, db: DB, svc: SvcDep) -> Response:
    """OIDC third-party-initiated login: the LMS names itself (``iss``) and the person
    (``login_hint``); the browser goes to the LMS's authorization endpoint with a fresh state
    and nonce, bound to this browser by a cookie."""
    return await _login(request, db, svc)


async def _login(request: Request, db: DB, svc: SvcDep) -> Response:
    params = await _login_params(request)
    iss, hint = params.get("iss", ""), params.get("login_hint", "")
    if not iss or not hint:
        return lti_pages.refused("the LMS did not say who it is or who you are (iss, login_hint)")
    query = select(LtiPlatform).where(col(LtiPlatform.issuer) == iss)
    if params.get("client_id"):
        query = query.where(col(LtiPlatform.client_id) == params["client_id"])
    platforms = list(await db.exec(query))
    if len(platforms) != 1 or platforms[0].id is None:
        return lti_pages.refused(
            "this LMS is not registered with the tool" if not platforms
            else "the LMS did not say which registration to use (client_id)"
        )  # fmt: skip
    platform = platforms[0]
    assert platform.id is not None
    target = params.get("target_link_uri", "")
    base = svc.settings.base_url
    if target and not target.startswith(base + "/"):
        return lti_pages.refused("the LMS asked to open an address outside this tool")
    login_state, cookie = _tool(request).state.new_login(platform.id, time.time())
    auth = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": f"{base}/lti/launch",
        "login_hint": hint,
        "state": login_state.state,
        "nonce": login_state.nonce,
    }
    if params.get("lti_message_hint"):
        auth["lti_message_hint"] = params["lti_message_hint"]
    sep = "&" if "?" in platform.auth_login_url else "?"
    resp = RedirectResponse(f"{platform.auth_login_url}{sep}{urlencode(auth)}", status_code=302)
    secure = base.startswith("https://")
    resp.set_cookie(
        COOKIE_PREFIX + login_state.state,
        cookie,
        max_age=STATE_TTL_S,
        path="/lti/",
        httponly=True,
        secure=secure,
        samesite="none" if secure else "lax",
    )
    return resp


@router.post("/launch", response_class=HTMLResponse)
async def launch(
    request: Request, db: DB, svc: SvcDep, id_token: Field = "", state: Field = ""
) -> Response:
    """The LMS posts the signed ``id_token`` here (form_post). Checked: the state cookie, the
    signature against the LMS's keys, then every claim; a resource link signs the person into
    its lesson, a Deep Linking request opens the lesson picker. A refusal is a plain page."""
    tool = _tool(request)
    now = time.time()
    try:
        if not STATE_RE.match(state):
            raise LaunchRefused("the launch has no valid state: open the link in your LMS again")
        login_state = tool.state.open_login(state, request.cookies.get(COOKIE_PREFIX + state), now)
        _, unverified = peek(id_token)
        platform = await platform_for(db, unverified)
        if platform.id != login_state.platform_id or platform.id is None:
            raise LaunchRefused("the launch comes from another LMS than the sign-in started with")
        claims = await tool.keys.verify(platform, id_token)
        expect = Expected(
            platform.issuer, platform.client_id, await deployments(db, platform.id),
            login_state.nonce,
        )  # fmt: skip
        checked = check_launch(claims, expect, now)
        await use_nonce(db, platform.id, login_state.nonce, now)
        # the lesson first: a link that opens nothing creates no account
        live = None if checked.message_type == DEEP_LINKING_REQUEST else (
            await lesson_of(db, platform, checked, tool.state)
        )  # fmt: skip
        user = await linked_user(
            db, platform, checked.sub, role=checked.role, name=checked.name, email=checked.email
        )
        if live is None:
            resp = await _picker(db, tool, user, platform, checked, now)
        else:
            await remember_context(db, platform, checked, live.course_id)
            entry = await enter_lesson(db, svc.settings, svc.signer, user, checked.role, live)
            resp = RedirectResponse(entry.url, status_code=303)
            if live.status is SessionStatus.ENDED and checked.ags_scopes:
                tool.grades.kick(live.id)  # a link placed after the lesson: its column fills
    except LaunchRefused as exc:
        return lti_pages.refused(exc.message)
    resp.delete_cookie(COOKIE_PREFIX + state, path="/lti/")
    return resp


async def _lessons_for(db: DB, user: User) -> list[lti_pages.Choice]:
    query = (
        select(LiveSession, Course)
        .where(col(LiveSession.course_id) == col(Course.id))
        .order_by(col(LiveSession.id).desc())
        .limit(200)
    )
    if user.role is not Role.ADMIN:
        query = query.where(col(Course.teacher_id) == user.id)
    return [
        lti_pages.Choice(
            live.id or 0,
            course.title,
            live.title,
            f"{live.scheduled_at:%Y-%m-%d %H:%M} UTC" if live.scheduled_at else "not scheduled",
            live.status is SessionStatus.ENDED,
        )
        for live, course in await db.exec(query)
    ]


async def _picker(
    db: DB, tool: LtiTool, user: User, platform: LtiPlatform, checked: Any, now: float
) -> Response:
    token = tool.state.picker(
        {
            "uid": user.id,
            "pid": platform.id,
            "dep": checked.deployment_id,
            "ret": checked.deep_link_return_url,
            "data": checked.deep_link_data,
        },
        now,
    )
    return lti_pages.picker(token, await _lessons_for(db, user))


@router.post("/deep-link", response_class=HTMLResponse)
async def deep_link(
    request: Request, db: DB, svc: SvcDep, picker: Field = "", lesson_id: Field = ""
) -> Response:
    """The instructor's pick: an LtiDeepLinkingResponse signed with the tool's key, carried to
    the LMS's ``deep_link_return_url`` by a self-submitting form."""
    tool = _tool(request)
    now = time.time()
    try:
        ctx = tool.state.open_picker(picker, now)
        user = await db.get(User, ctx.get("uid"))
        platform = await db.get(LtiPlatform, ctx.get("pid"))
        if user is None or platform is None:
            raise LaunchRefused("the lesson picker no longer matches an account: start again")
        chosen = int(lesson_id) if lesson_id.isdigit() and len(lesson_id) < 10 else 0
        live = await db.get(LiveSession, chosen) if chosen else None
        course = await db.get(Course, live.course_id) if live is not None else None
        if live is None or course is None:
            raise LaunchRefused("pick one of the lessons listed")
        if course.teacher_id != user.id and user.role is not Role.ADMIN:
            raise LaunchRefused("you may only place lessons of your own courses")
        item = content_item(
            launch_url=f"{svc.settings.base_url}/lti/launch",
            lesson_id=live.id or 0,
            check=tool.state.lesson_check(platform.id or 0, live.id or 0),
            title=f"{course.title}: {live.title}"[:200],
            catch_up=live.status is SessionStatus.ENDED,
            score_maximum=100,
        )
        claims = response_claims(
            client_id=platform.client_id,
            issuer=platform.issuer,
            deployment_id=str(ctx.get("dep", "")),
            items=[item],
            data=ctx.get("data") if isinstance(ctx.get("data"), str) else None,
            nonce=secrets.token_urlsafe(16),
            now=now,
        )
        key = await tool_key(db)
        signed = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)
    except LaunchRefused as exc:
        return lti_pages.refused(exc.message)
    return lti_pages.return_to_lms(str(ctx["ret"]), signed)


@router.get("/jwks")
async def jwks(db: DB) -> JSONResponse:
    """The tool's public key (JWKS): LMSs check the tool's signed messages and service
    assertions against it."""
    return JSONResponse(public_jwks(await tool_key(db)), headers={"Cache-Control": "max-age=300"})
