"""Slide decks of a lesson: the course's teacher (or an admin) uploads a PDF before or during
the lesson; everyone who may see the session lists the decks and fetches page images (cached:
a page's image never changes). Presenting a page is the ``slides.show`` websocket command."""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from fastapi import APIRouter, File, Request, UploadFile, status
from fastapi.responses import FileResponse, Response

from server.api.deps import DB, Caller, SvcDep
from server.db.models import Course
from server.db.slide_models import SlideDeck
from server.domain.errors import InvalidState, NotFound
from server.domain.live import SessionStatus
from server.domain.roles import Role
from server.services import slides
from server.services.access import require_course_owner, require_role, visible_session
from server.services.ids import PathId

router = APIRouter(prefix="/api/sessions", tags=["slides"])
UPLOAD_PATH: Final = re.compile(r"^/api/sessions/[0-9]{1,19}/slides/?$")
MULTIPART_SLACK: Final = 64 * 1024
"""Room for the multipart envelope around the file in the upload's body limit."""
CACHE: Final = "private, max-age=31536000, immutable"


@router.get("/{session_id}/slides")
async def get_decks(session_id: PathId, who: Caller, db: DB) -> list[dict[str, Any]]:
    """The lesson's decks, oldest first, with rendering progress and the page image URL
    pattern (``page_url`` with ``{page}`` from 1 and ``{size}``: ``full`` or ``small``)."""
    await visible_session(db, who, session_id)
    return [slides.deck_view(d) for d in await slides.list_decks(db, session_id)]


@router.post("/{session_id}/slides", status_code=status.HTTP_202_ACCEPTED)
async def upload_deck(
    session_id: PathId,
    who: Caller,
    db: DB,
    svc: SvcDep,
    file: Annotated[UploadFile, File(description="a PDF, not password-protected")],
) -> dict[str, Any]:
    """Check and store a PDF; its pages are drawn in the background (``status`` goes from
    ``rendering`` to ``ready``, ``rendered`` counts the pages done). A file that is not a
    readable PDF, is encrypted, or is over the size or page limits is refused (422) in words."""
    require_role(who, {Role.TEACHER, Role.ADMIN}, "upload slides")
    live = await visible_session(db, who, session_id)
    course = await db.get(Course, live.course_id)
    if course is None:
        raise NotFound(f"session {session_id} not found")
    require_course_owner(who, course, "upload slides to this lesson")
    if live.status == SessionStatus.ENDED:
        raise InvalidState("the lesson has ended: slides can no longer be added")
    data = await file.read(svc.settings.slides_max_bytes + 1)
    deck = await slides.add_deck(svc, db, session_id, who.user_id, data, file.filename)
    return slides.deck_view(deck)


@router.get(
    "/{session_id}/slides/{deck_id}/pages/{page}/{size}",
    response_class=FileResponse,
    responses={200: {"content": {"image/webp": {}}}, 304: {"description": "not modified"}},
)
async def get_page(
    session_id: PathId,
    deck_id: PathId,
    page: PathId,
    size: str,
    request: Request,
    who: Caller,
    db: DB,
    svc: SvcDep,
) -> Any:
    """One page's image (``size``: ``full``, or ``small`` for weak links). Never changes once
    drawn: cached for a year (``immutable``), and a matching ``If-None-Match`` gets 304."""
    await visible_session(db, who, session_id)
    found = await slides.page_file(db, svc.settings.data_dir, session_id, deck_id, page, size)
    headers = {"Cache-Control": CACHE, "ETag": found.etag}
    if found.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return FileResponse(found.path, media_type=found.media_type, headers=headers)


__all__ = ["MULTIPART_SLACK", "UPLOAD_PATH", "SlideDeck", "router"]
