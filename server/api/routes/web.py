"""The web client: static pages and assets from ``client_web/``, and the protocol schema the
client builds its message names from (``GET /api/protocol``).

Pages: ``/`` staff sign-in, ``/join`` (a student's link, token in the fragment),
``/teacher/{id}``, ``/facilitator/{id}``, ``/student/{id}``, ``/catchup/{id}`` (a student's
catch-up player for the lesson recording), ``/report/{id}`` (the lesson report), ``/admin``
(schools, sites, staff, courses, enrolments, roster import, lessons), ``/courses`` (a
teacher's courses, lessons and join links), ``/courses/{id}/bank`` (the question bank),
``/sessions/{id}/links`` (printable join links with QR codes), ``/course-report/{id}`` (the
course view across lessons), ``/admin/lti`` (LMS registrations), ``/lti/enter`` (staff arriving
from an LMS launch, token in the fragment); assets under ``/static/``.
Every page is served with a strict Content-Security-Policy (no inline script), so data shown
by the client can never run as code even if a future change forgot ``textContent``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from server.api.deps import SvcDep
from server.domain.errors import NotFound
from server.domain.live.event_types import DERIVED_EVENT_TYPES, EVENT_TYPES
from server.domain.live.limits import Limits
from server.realtime.core import gateway, protocol
from server.realtime.core.engine import CLOSE_MOVED
from server.services.ids import PathId

CLIENT_DIR: Final = Path(__file__).resolve().parents[3] / "client_web"
MEDIA_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
CLOSE_CODES: Final = {
    "bad_hello": gateway.CLOSE_BAD_HELLO,
    "unauthorized": gateway.CLOSE_UNAUTHORIZED,
    "not_found": gateway.CLOSE_NOT_FOUND,
    "removed": gateway.CLOSE_REMOVED,
    "too_slow": gateway.CLOSE_TOO_SLOW,
    "flood": gateway.CLOSE_FLOOD,
    "too_big": gateway.CLOSE_TOO_BIG,
    "moved": CLOSE_MOVED,  # the session moved to another node: resume there
}

router = APIRouter()


def _file(relative: str) -> FileResponse:
    """A file under ``client_web/``; NotFound for anything outside it or missing."""
    root = CLIENT_DIR.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFound("no such file")
    media_type = MEDIA_TYPES.get(target.suffix.lower())
    if media_type is None:
        raise NotFound("no such file")
    return FileResponse(target, media_type=media_type, headers=SECURITY_HEADERS)


def _fields(cls: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)] if dataclasses.is_dataclass(cls) else []


@router.get("/api/protocol", tags=["realtime"])
async def protocol_schema(svc: SvcDep) -> dict[str, Any]:
    """The websocket protocol's names, from ``server/realtime/core/protocol.py``: commands
    with their ``data`` fields, control messages, event types, close codes, and the message
    families other modules have registered (``extra``, e.g. ``engagement``, ``media``), and
    the session limits a form needs (the defaults of ``Limits``)."""
    limits = Limits()
    return {
        "version": protocol.PROTOCOL_VERSION,
        "max_id_length": protocol.MAX_ID_LENGTH,
        "commands": {name: _fields(protocol.COMMANDS[name]) for name in sorted(protocol.COMMANDS)},
        "control": sorted(protocol.CONTROL),
        "events": sorted(EVENT_TYPES),
        "derived_events": sorted(DERIVED_EVENT_TYPES),
        "extra": sorted(gateway.EXTENSION_FAMILIES),
        "close_codes": CLOSE_CODES,
        "reactions": sorted(limits.reactions),
        "limits": {
            "max_qna_text_length": limits.max_qna_text_length,
            "max_prompt_length": limits.max_prompt_length,
            "max_options": limits.max_options,
            "max_text_answer_length": limits.max_text_answer_length,
            "max_chat_length": limits.max_chat_length,
        },
        "recording_notice": svc.settings.recording_notice,
    }


# The pages: each is one static file; what a page shows comes from the API, which checks who
# may see it. An id in a page's address is only checked for shape (``PathId``).
PLAIN_PAGES: Final = {
    "/": "index.html",  # staff sign-in
    "/join": "join.html",  # a student's link (the token is in the fragment)
    "/admin": "admin.html",  # consortium set-up for admins
    "/courses": "courses.html",  # a teacher's courses and lessons
    "/admin/lti": "lti.html",  # LMS registrations (LTI 1.3) for admins
    "/lti/enter": "lti_enter.html",  # a staff member arriving from an LMS launch
}
ID_PAGES: Final = {
    "/teacher/{page_id}": "teacher.html",
    "/facilitator/{page_id}": "facilitator.html",
    "/student/{page_id}": "student.html",
    "/catchup/{page_id}": "catchup.html",  # the recording, stopping at each embedded question
    "/report/{page_id}": "report.html",  # the lesson report
    "/courses/{page_id}/bank": "bank.html",  # the course's question bank
    "/sessions/{page_id}/links": "links.html",  # printable join-link sheets with QR codes
    "/course-report/{page_id}": "course_report.html",  # the course view across lessons
}


def _plain_page(name: str) -> Callable[[], Awaitable[Response]]:
    async def page() -> Response:
        return _file(name)

    return page


def _id_page(name: str) -> Callable[[int], Awaitable[Response]]:
    async def page(page_id: PathId) -> Response:
        return _file(name)

    return page


for _path, _name in PLAIN_PAGES.items():
    router.add_api_route(_path, _plain_page(_name), methods=["GET"], include_in_schema=False)
for _path, _name in ID_PAGES.items():
    router.add_api_route(_path, _id_page(_name), methods=["GET"], include_in_schema=False)


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """For browsers and pages (such as /docs) that ask for it; the pages link the SVG one."""
    return _file("favicon.ico")


@router.get("/static/{path:path}", include_in_schema=False)
async def static_file(path: str) -> Response:
    return _file(path)
