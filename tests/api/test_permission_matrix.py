"""Every REST route x every kind of caller, each answer asserted.

Callers: anonymous; an admin; the course's teacher and another teacher; the facilitator of a
site offering the course and one of a site that does not; an enrolled student, a student not
enrolled, and the enrolled student signed in through a join link (bound to one session).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pytest

from server.db.lti_models import LtiContext, LtiPlatform
from server.db.models import LessonItem, LiveSession, Site, SlideDeck, User
from server.domain.bank import entry_from_data
from server.domain.live import SessionStatus
from server.domain.live.limits import Limits
from server.domain.roles import Role
from server.realtime.media.recording import session_dir
from server.services.bank import new_item
from server.services.slides import deck_dir
from tests.api.world import ACTORS, World, build_world

STAFF_OK = {"admin": 200, "teacher": 200, "teacher2": 200, "fac": 200, "fac2": 200}
STUDENTS_403 = {"student": 403, "student2": 403, "joined": 403}
IN_SESSION = {
    "admin": 200,
    "teacher": 200,
    "teacher2": 404,
    "fac": 200,
    "fac2": 404,
    "student": 200,
    "student2": 404,
    "joined": 200,
}
RECORDING = "lesson-20261124T090000Z.webm"
# The question bank and join sheets: the course's teacher and admins manage, facilitators of
# its sites read (without keys), students never see them.
BANK_READ = {**IN_SESSION, **STUDENTS_403}
BANK_MANAGE = {**BANK_READ, "fac": 403}
BANK_ITEM = {
    "use": "question",
    "spec": {
        "kind": "single",
        "prompt": "2+2?",
        "options": ["3", "4"],
        "correct": {"choices": [1]},
    },
}
OWNER_ONLY = {"teacher2": 404, "fac": 403, "fac2": 404, "student": 403, "student2": 404}


@dataclass
class Case:
    method: str
    path: str  # the route's template, to check the matrix covers every route
    url: Callable[[World, str], str]
    expect: dict[str, int]
    body: Callable[[World, str], dict[str, Any]] | None = None
    files: bool = False
    upload: bytes | None = None
    page: bool = False  # answers a browser with an HTML page, errors included (LTI)
    roster_files: bool = False
    pdf: bool = False


def fixed(url: str) -> Callable[[World, str], str]:
    return lambda _w, _a: url


# LTI 1.3 (docs/lms.md). /lti/* are public by design: the LMS and the person's browser call them
# without a sign-in here; each checks what it is sent (the launch's signed id_token and state
# cookie, the picker's signed context), so a call without them is a plain 400 page for anyone.
# /api/lti/* are for admins (registrations) and course teachers (their LMS courses' rosters).
LTI_ADMIN = {"anon": 401, "admin": 200, **dict.fromkeys(ACTORS[2:], 403)}
LTI_PLATFORM = {
    "name": "LMS",
    "issuer": "https://lms.example",
    "client_id": "c-1",
    "deployment_ids": ["d-1"],
    "auth_login_url": "https://lms.example/auth",
    "token_url": "https://lms.example/token",
    "jwks_url": "https://lms.example/jwks",
}
LTI_CASES = [
    Case("GET", "/lti/jwks", fixed("/lti/jwks"), dict.fromkeys(ACTORS, 200)),
    Case("GET", "/lti/login", fixed("/lti/login"), dict.fromkeys(ACTORS, 400), page=True),
    Case("POST", "/lti/login", fixed("/lti/login"), dict.fromkeys(ACTORS, 400), page=True),
    Case("POST", "/lti/launch", fixed("/lti/launch"), dict.fromkeys(ACTORS, 400), page=True),
    Case("POST", "/lti/deep-link", fixed("/lti/deep-link"), dict.fromkeys(ACTORS, 400), page=True),
    Case("GET", "/api/lti/tool", fixed("/api/lti/tool"), LTI_ADMIN),
    Case("GET", "/api/lti/platforms", fixed("/api/lti/platforms"), LTI_ADMIN),
    Case(
        "POST",
        "/api/lti/platforms",
        fixed("/api/lti/platforms"),
        {**LTI_ADMIN, "admin": 201},
        body=lambda w, a: {**LTI_PLATFORM, "client_id": f"c-{a}"},
    ),
    Case(
        "PUT",
        "/api/lti/platforms/{platform_id}",
        lambda w, a: f"/api/lti/platforms/{w.ids['lti_platform']}",
        LTI_ADMIN,
        body=lambda w, a: LTI_PLATFORM,
    ),
    Case(
        "GET",
        "/api/lti/contexts",
        fixed("/api/lti/contexts"),
        {**LTI_ADMIN, "teacher": 200, "teacher2": 200},
    ),
    Case(  # the LMS course has no roster service yet (no launch brought one): 409 once allowed
        "POST",
        "/api/lti/contexts/{context_id}/sync",
        lambda w, a: f"/api/lti/contexts/{w.ids['lti_context']}/sync",
        {**LTI_ADMIN, "admin": 409, "teacher": 409, "teacher2": 404},
    ),
]


CASES = [
    Case("GET", "/healthz", fixed("/healthz"), dict.fromkeys(ACTORS, 200)),
    Case("GET", "/readyz", fixed("/readyz"), dict.fromkeys(ACTORS, 200)),
    # loopback clients only unless HYFLEX_METRICS_TOKEN is set (tests/ops covers both)
    Case("GET", "/metrics", fixed("/metrics"), dict.fromkeys(ACTORS, 200)),
    Case(
        "POST",
        "/api/auth/login",
        fixed("/api/auth/login"),
        dict.fromkeys(ACTORS, 200),
        body=lambda w, a: {"email": "teacher@demo.hyflex", "password": "hyflex-demo-2026"},
    ),
    Case(
        "POST",
        "/api/auth/join",
        fixed("/api/auth/join"),
        dict.fromkeys(ACTORS, 200),
        body=lambda w, a: {"token": w.tokens["link"]},
    ),
    Case(
        "GET",
        "/api/auth/me",
        fixed("/api/auth/me"),
        {"anon": 401, **dict.fromkeys(ACTORS[1:], 200)},
    ),
    Case("GET", "/api/schools", fixed("/api/schools"), {"anon": 401, **STAFF_OK, **STUDENTS_403}),
    Case(
        "POST",
        "/api/schools",
        fixed("/api/schools"),
        {"anon": 401, "admin": 201, **dict.fromkeys(ACTORS[2:], 403)},
        body=lambda w, a: {"name": f"School {a}", "code": f"s-{a}"},
    ),
    Case(
        "GET",
        "/api/schools/{school_id}",
        lambda w, a: f"/api/schools/{w.demo.sites[0].school_id}",
        {"anon": 401, **STAFF_OK, **STUDENTS_403},
    ),
    Case(
        "PATCH",
        "/api/schools/{school_id}",
        lambda w, a: f"/api/schools/{w.demo.sites[0].school_id}",
        {"anon": 401, "admin": 200, **dict.fromkeys(ACTORS[2:], 403)},
        body=lambda w, a: {"timezone": "Europe/London"},
    ),
    Case("GET", "/api/sites", fixed("/api/sites"), {"anon": 401, **STAFF_OK, **STUDENTS_403}),
    Case(
        "POST",
        "/api/sites",
        fixed("/api/sites"),
        {"anon": 401, "admin": 201, **dict.fromkeys(ACTORS[2:], 403)},
        body=lambda w, a: {
            "school_id": w.demo.sites[0].school_id,
            "name": f"R {a}",
            "code": f"r-{a}",
        },
    ),
    Case(
        "GET",
        "/api/sites/{site_id}",
        lambda w, a: f"/api/sites/{w.ids['site']}",
        {"anon": 401, **STAFF_OK, "fac2": 404, **STUDENTS_403},
    ),
    Case(
        "GET",
        "/api/users",
        fixed("/api/users"),
        {"anon": 401, **STAFF_OK, **STUDENTS_403},
    ),
    Case(
        "POST",
        "/api/users",
        fixed("/api/users"),
        {"anon": 401, "admin": 201, **dict.fromkeys(ACTORS[2:], 403)},
        body=lambda w, a: {
            "email": f"new-{a}@demo.hyflex",
            "display_name": "New",
            "role": "student",
        },
    ),
    Case(
        "PUT",
        "/api/users/{user_id}/password",
        lambda w, a: f"/api/users/{w.ids['pw_target']}/password",  # not a caller: it signs out
        {"anon": 401, "admin": 204, **dict.fromkeys(ACTORS[2:], 403)},
        body=lambda w, a: {"password": f"new-password-{a}"},
    ),
    Case(
        "GET",
        "/api/users/{user_id}",
        lambda w, a: f"/api/users/{w.ids['student']}",
        {
            "anon": 401,
            "admin": 200,
            "teacher": 200,
            "teacher2": 404,
            "fac": 200,
            "fac2": 404,
            "student": 200,
            "student2": 404,
            "joined": 200,
        },
    ),
    Case(
        "GET",
        "/api/courses",
        fixed("/api/courses"),
        {"anon": 401, **dict.fromkeys(ACTORS[1:], 200)},
    ),
    Case(
        "POST",
        "/api/courses",
        fixed("/api/courses"),
        {
            "anon": 401,
            "admin": 201,
            "teacher": 201,
            "teacher2": 201,
            "fac": 403,
            "fac2": 403,
            **STUDENTS_403,
        },
        body=lambda w, a: {
            "code": f"C-{a}",
            "title": "New course",
            "teacher_id": w.ids.get(a, w.ids["teacher"])
            if a.startswith("teacher")
            else w.ids["teacher"],
        },
    ),
    Case(
        "GET",
        "/api/courses/{course_id}",
        lambda w, a: f"/api/courses/{w.ids['course']}",
        {
            "anon": 401,
            "admin": 200,
            "teacher": 200,
            "teacher2": 404,
            "fac": 200,
            "fac2": 404,
            "student": 200,
            "student2": 404,
            "joined": 200,
        },
    ),
    Case(
        "POST",
        "/api/courses/{course_id}/sites",
        lambda w, a: f"/api/courses/{w.ids['course']}/sites",
        {"anon": 401, "admin": 200, "teacher": 200, **OWNER_ONLY, "joined": 403},
        body=lambda w, a: {"site_id": w.ids[f"offer_site_{a}"]},
    ),
    Case(
        "GET",
        "/api/courses/{course_id}/enrolments",
        lambda w, a: f"/api/courses/{w.ids['course']}/enrolments",
        {
            "anon": 401,
            "admin": 200,
            "teacher": 200,
            "teacher2": 404,
            "fac": 200,
            "fac2": 404,
            **STUDENTS_403,
        },
    ),
    Case(
        "POST",
        "/api/courses/{course_id}/enrolments",
        lambda w, a: f"/api/courses/{w.ids['course']}/enrolments",
        {"anon": 401, "admin": 201, "teacher": 201, **OWNER_ONLY, "joined": 403},
        body=lambda w, a: {"student_id": w.ids[f"new_student_{a}"]},
    ),
    Case(
        "GET",
        "/api/sessions",
        fixed("/api/sessions"),
        {"anon": 401, **dict.fromkeys(ACTORS[1:], 200)},
    ),
    Case(
        "POST",
        "/api/sessions",
        fixed("/api/sessions"),
        {
            "anon": 401,
            "admin": 201,
            "teacher": 201,
            "teacher2": 404,
            "fac": 403,
            "fac2": 403,
            **STUDENTS_403,
        },
        body=lambda w, a: {"course_id": w.ids["course"], "title": f"Lesson by {a}"},
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}",
        lambda w, a: f"/api/sessions/{w.ids['session']}",
        {
            "anon": 401,
            "admin": 200,
            "teacher": 200,
            "teacher2": 404,
            "fac": 200,
            "fac2": 404,
            "student": 200,
            "student2": 404,
            "joined": 200,
        },
    ),
    Case(
        "POST",
        "/api/sessions/{session_id}/start",
        lambda w, a: f"/api/sessions/{w.ids[f'scheduled_{a}']}/start",
        {"anon": 401, "admin": 200, "teacher": 200, **OWNER_ONLY, "joined": 404},
    ),
    Case(
        "POST",
        "/api/sessions/{session_id}/end",
        lambda w, a: f"/api/sessions/{w.ids[f'live_{a}']}/end",
        {"anon": 401, "admin": 200, "teacher": 200, **OWNER_ONLY, "joined": 404},
    ),
    Case(
        "POST",
        "/api/sessions/{session_id}/join-links",
        lambda w, a: f"/api/sessions/{w.ids['session']}/join-links",
        {
            "anon": 401,
            "admin": 200,
            "teacher": 200,
            "teacher2": 404,
            "fac": 200,
            "fac2": 404,
            **STUDENTS_403,
        },
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/recordings",
        lambda w, a: f"/api/sessions/{w.ids['session']}/recordings",
        {"anon": 401, **IN_SESSION},
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/captions.vtt",
        lambda w, a: f"/api/sessions/{w.ids['session']}/captions.vtt",
        {"anon": 401, **IN_SESSION},
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/recordings/{name}",
        lambda w, a: f"/api/sessions/{w.ids['session']}/recordings/{RECORDING}",
        {"anon": 401, **IN_SESSION},
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/slides",
        lambda w, a: f"/api/sessions/{w.ids['session']}/slides",
        {"anon": 401, **IN_SESSION},
    ),
    Case(
        "POST",
        "/api/sessions/{session_id}/slides",
        lambda w, a: f"/api/sessions/{w.ids['session']}/slides",
        {
            "anon": 401,
            "admin": 202,
            "teacher": 202,
            "teacher2": 404,
            "fac": 403,
            "fac2": 403,
            **STUDENTS_403,
        },
        pdf=True,
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/slides/{deck_id}/pages/{page}/{size}",
        lambda w, a: f"/api/sessions/{w.ids['session']}/slides/{w.ids['deck']}/pages/1/small",
        {"anon": 401, **IN_SESSION},
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/report",
        lambda w, a: f"/api/sessions/{w.ids['session']}/report",
        {"anon": 401, **IN_SESSION},
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/report.csv",
        lambda w, a: f"/api/sessions/{w.ids['session']}/report.csv",
        {"anon": 401, **IN_SESSION},
    ),
    Case(
        "GET",
        "/api/courses/{course_id}/report",
        lambda w, a: f"/api/courses/{w.ids['course']}/report",
        {"anon": 401, **IN_SESSION, "joined": 403},
    ),
    Case(
        "GET",
        "/api/courses/{course_id}/report.csv",
        lambda w, a: f"/api/courses/{w.ids['course']}/report.csv",
        {"anon": 401, **IN_SESSION, "joined": 403},
    ),
    Case("GET", "/api/protocol", fixed("/api/protocol"), dict.fromkeys(ACTORS, 200)),
    # Single sign-on is not configured here: anyone may ask, no one may start (tests/api/test_sso.py
    # covers it configured).
    Case("GET", "/api/auth/sso", fixed("/api/auth/sso"), dict.fromkeys(ACTORS, 200)),
    Case("GET", "/auth/sso/start", fixed("/auth/sso/start"), dict.fromkeys(ACTORS, 404)),
    Case(
        "GET",
        "/auth/sso/callback",
        fixed("/auth/sso/callback?code=c&state=s"),
        dict.fromkeys(ACTORS, 404),
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/node",
        lambda w, a: f"/api/sessions/{w.ids['session']}/node",
        {"anon": 401, **IN_SESSION},
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/ice",
        lambda w, a: f"/api/sessions/{w.ids['session']}/ice",
        {"anon": 401, **IN_SESSION},
    ),
    Case(
        "POST",
        "/api/roster/import",
        fixed("/api/roster/import?dry_run=true"),
        {"anon": 401, "admin": 200, **dict.fromkeys(ACTORS[2:], 403)},
        files=True,
    ),
    Case(
        "POST",
        "/api/roster/oneroster",
        fixed("/api/roster/oneroster?dry_run=true"),
        {"anon": 401, "admin": 200, **dict.fromkeys(ACTORS[2:], 403)},
        roster_files=True,
    ),
    Case(
        "GET",
        "/api/courses/{course_id}/bank",
        lambda w, a: f"/api/courses/{w.ids['course']}/bank",
        {"anon": 401, **BANK_READ},
    ),
    Case(
        "POST",
        "/api/courses/{course_id}/bank",
        lambda w, a: f"/api/courses/{w.ids['course']}/bank",
        {"anon": 401, **BANK_MANAGE, "admin": 201, "teacher": 201},
        body=lambda w, a: BANK_ITEM,
    ),
    Case(
        "PUT",
        "/api/courses/{course_id}/bank/{item_id}",
        lambda w, a: f"/api/courses/{w.ids['course']}/bank/{w.ids['bank_item']}",
        {"anon": 401, **BANK_MANAGE},
        body=lambda w, a: BANK_ITEM,
    ),
    Case(
        "DELETE",
        "/api/courses/{course_id}/bank/{item_id}",
        lambda w, a: f"/api/courses/{w.ids['course']}/bank/{w.ids[f'bank_item_{a}']}",
        {"anon": 401, **BANK_MANAGE, "admin": 204, "teacher": 204},
    ),
    Case(
        "GET",
        "/api/courses/{course_id}/bank.csv",
        lambda w, a: f"/api/courses/{w.ids['course']}/bank.csv",
        {"anon": 401, **BANK_MANAGE},
    ),
    Case(
        "GET",
        "/api/courses/{course_id}/bank.json",
        lambda w, a: f"/api/courses/{w.ids['course']}/bank.json",
        {"anon": 401, **BANK_MANAGE},
    ),
    Case(
        "POST",
        "/api/courses/{course_id}/bank/import",
        lambda w, a: f"/api/courses/{w.ids['course']}/bank/import?dry_run=true",
        {"anon": 401, **BANK_MANAGE},
        upload=b"use,kind,prompt,option_1,option_2\npoll,single,Ready?,Yes,No\n",
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/bank",
        lambda w, a: f"/api/sessions/{w.ids['session']}/bank",
        {"anon": 401, **BANK_READ},
    ),
    Case(
        "PUT",
        "/api/sessions/{session_id}/bank/{item_id}",
        lambda w, a: f"/api/sessions/{w.ids['session']}/bank/{w.ids['bank_item']}",
        {"anon": 401, **BANK_MANAGE},
        body=lambda w, a: {"position": None},
    ),
    Case(
        "DELETE",
        "/api/sessions/{session_id}/bank/{item_id}",
        lambda w, a: f"/api/sessions/{w.ids['session']}/bank/{w.ids[f'attached_{a}']}",
        {"anon": 401, **BANK_MANAGE, "admin": 204, "teacher": 204},
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/join-sheet",
        lambda w, a: f"/api/sessions/{w.ids['session']}/join-sheet",
        {"anon": 401, **BANK_READ},
    ),
    Case(
        "GET",
        "/api/sessions/{session_id}/join-sheet.csv",
        lambda w, a: f"/api/sessions/{w.ids['session']}/join-sheet.csv",
        {"anon": 401, **BANK_READ},
    ),
    *LTI_CASES,
]

ROSTER = (
    b"sourcedId,role,givenName,familyName,email,orgSourcedIds\n"
    b"u-1,student,Ann,Lee,ann@demo.hyflex,north-a\n"
)

ONEROSTER_ORGS = b"sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"


async def _prepare(world: World) -> None:
    svc = world.app.state.services
    async with svc.sessions() as db:
        rows: dict[str, Any] = {}
        for actor in ACTORS:
            rows[f"scheduled_{actor}"] = LiveSession(course_id=world.ids["course"], title="s")
            rows[f"live_{actor}"] = LiveSession(
                course_id=world.ids["course"], title="l", status=SessionStatus.LIVE
            )
            rows[f"offer_site_{actor}"] = Site(
                school_id=world.demo.sites[0].school_id, name=f"Offer {actor}", code=f"o-{actor}"
            )
            rows[f"new_student_{actor}"] = User(
                email=f"enrol-{actor}@demo.hyflex", display_name="E", role=Role.STUDENT
            )
        rows["pw_target"] = User(
            email="pw-target@demo.hyflex", display_name="P", role=Role.FACILITATOR
        )
        for row in rows.values():
            db.add(row)
        await db.commit()
        for key, row in rows.items():
            world.ids[key] = row.id
    world.tokens["link"] = await world.join_link(world.ids["student"], world.ids["session"])
    await _prepare_bank(world)
    await _prepare_lti(world)
    folder = session_dir(svc.settings.data_dir, world.ids["session"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RECORDING).write_bytes(b"\x1aE\xdf\xa3 not a real recording")
    await _prepare_slides(world)


def _pdf() -> bytes:
    """A one-page PDF, made by PDFium itself."""
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(400, 300)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


async def _prepare_slides(world: World) -> None:
    """A deck with its first page drawn, as an upload leaves it."""
    svc = world.app.state.services
    async with svc.sessions() as db:
        deck = SlideDeck(session_id=world.ids["session"], title="Deck", pages=1, rendered=1)
        deck.status = "ready"
        db.add(deck)
        await db.commit()
        world.ids["deck"] = deck.id or 0
    folder = deck_dir(svc.settings.data_dir, world.ids["session"], world.ids["deck"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "1.small.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBP not a real image")


async def _prepare_lti(world: World) -> None:
    """An LMS registration and one LMS course mapped to the demo course."""
    async with world.app.state.services.sessions() as db:
        fields = {k: v for k, v in LTI_PLATFORM.items() if k != "deployment_ids"}
        platform = LtiPlatform(**{**fields, "client_id": "c-prepared"})
        db.add(platform)
        await db.flush()
        context = LtiContext(
            platform_id=platform.id or 0, context_id="lms-course", course_id=world.ids["course"]
        )
        db.add(context)
        await db.commit()
        world.ids["lti_platform"] = platform.id or 0
        world.ids["lti_context"] = context.id or 0


async def _prepare_bank(world: World) -> None:
    """A bank item for every caller to change, one each to delete, one each attached."""
    entry = entry_from_data(BANK_ITEM, Limits())
    async with world.app.state.services.sessions() as db:
        items = {"bank_item": new_item(world.ids["course"], entry)}
        for actor in ACTORS:
            items[f"bank_item_{actor}"] = new_item(world.ids["course"], entry)
            items[f"attached_{actor}"] = new_item(world.ids["course"], entry)
        for item in items.values():
            db.add(item)
        await db.flush()
        for actor in ACTORS:
            item_id = items[f"attached_{actor}"].id
            db.add(LessonItem(session_id=world.ids["session"], item_id=item_id))
        await db.commit()
        for key, item in items.items():
            world.ids[key] = item.id


def test_matrix_covers_every_route() -> None:
    from server.app import create_app
    from server.settings import Settings

    app = create_app(Settings(database_url="sqlite+aiosqlite://", secret_key="x" * 40))
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert len(routes) >= 20
    covered = {(case.method, case.path) for case in CASES}
    assert routes - covered == set(), "routes missing from the permission matrix"
    assert covered - routes == set(), "matrix names routes that do not exist"
    for case in CASES:
        assert set(case.expect) == set(ACTORS), f"{case.method} {case.path}: not every caller"


async def test_permission_matrix(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    await _prepare(world)
    failures: list[str] = []
    for case in CASES:
        for actor in ACTORS:
            kwargs: dict[str, Any] = {}
            if case.body is not None:
                kwargs["json"] = case.body(world, actor)
            if case.files:
                kwargs["files"] = {"file": ("users.csv", io.BytesIO(ROSTER), "text/csv")}
            if case.roster_files:
                kwargs["files"] = [("files", ("orgs.csv", io.BytesIO(ONEROSTER_ORGS), "text/csv"))]
            if case.upload is not None:
                kwargs["files"] = {"file": ("bank.csv", io.BytesIO(case.upload), "text/csv")}
            if case.pdf:
                kwargs["files"] = {"file": ("deck.pdf", io.BytesIO(_pdf()), "application/pdf")}
            resp = await world.call(actor, case.method, case.url(world, actor), **kwargs)
            want = case.expect[actor]
            if resp.status_code != want:
                failures.append(
                    f"{case.method} {case.path} as {actor}: {resp.status_code} != {want} "
                    f"({resp.text[:120]})"
                )
            elif case.page:
                assert resp.headers["content-type"].startswith("text/html"), case.path
            elif resp.status_code >= 400:
                assert "error" in resp.json(), f"{case.path} as {actor}: no error body"
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("actor", ["teacher", "fac", "student", "joined"])
async def test_lists_are_scoped(app_and_client: Any, actor: str) -> None:
    """Lists answer 200 to many callers: check they hold only what is in scope."""
    app, client = app_and_client
    world = await build_world(app, client)
    await _prepare(world)
    sessions = (await world.call(actor, "GET", "/api/sessions")).json()
    session_ids = {s["id"] for s in sessions}
    if actor == "joined":
        assert session_ids == {world.ids["session"]}
    else:
        assert world.ids["session"] in session_ids
    courses = (await world.call(actor, "GET", "/api/courses")).json()
    demo_course = next(c for c in courses if c["id"] == world.ids["course"])
    assert demo_course["site_ids"] == sorted(site.id for site in world.demo.sites)
    other = (await world.call("teacher2", "GET", "/api/sessions")).json()
    assert other == []
    assert (await world.call("student2", "GET", "/api/courses")).json() == []
    if actor == "teacher":
        # their students, and the facilitators of the sites the course is offered at (named in
        # the lesson's views), not those of a site without the course
        users = (await world.call(actor, "GET", "/api/users")).json()
        facilitators = {u["id"] for u in users if u["role"] == "facilitator"}
        assert facilitators == {f.id for f in world.demo.facilitators}
        assert world.ids["fac2"] not in {u["id"] for u in users}
        other_users = (await world.call("teacher2", "GET", "/api/users")).json()
        assert [u["id"] for u in other_users] == [world.ids["teacher2"]]
    if actor == "fac":
        sites = (await world.call(actor, "GET", "/api/sites")).json()
        assert [s["id"] for s in sites] == [world.ids["site"]]
        enrolments = (
            await world.call(actor, "GET", f"/api/courses/{world.ids['course']}/enrolments")
        ).json()
        assert enrolments and {e["site_id"] for e in enrolments} == {world.ids["site"]}
        users = (await world.call(actor, "GET", "/api/users")).json()
        assert {u["home_site_id"] for u in users} == {world.ids["site"]}
