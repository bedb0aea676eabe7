"""Bank items attached to a lesson: what the teacher's launcher offers "from the bank", and
the embedded questions' lesson-clock positions. Students never see this list."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import Response

from server.api.bank_schemas import AttachIn, LessonItemOut
from server.api.deps import DB, Caller
from server.db.models import Course, LessonItem, LiveSession
from server.domain.bank import check_position
from server.domain.errors import InvalidState, NotFound
from server.domain.live import SessionStatus
from server.domain.live.limits import Limits
from server.domain.roles import STAFF_ROLES
from server.services.access import require_course_owner, require_role, visible_session
from server.services.bank import course_item, entry_of, lesson_items, shown_data
from server.services.ids import PathId
from server.services.principal import Principal

router = APIRouter(prefix="/api/sessions", tags=["question bank"])
LIMITS = Limits()
MAX_ATTACHED = LIMITS.max_polls + LIMITS.max_questions


async def _readable(db: DB, who: Principal, session_id: int) -> LiveSession:
    require_role(who, STAFF_ROLES, "see the lesson's prepared questions")
    return await visible_session(db, who, session_id)


async def _owned(db: DB, who: Principal, session_id: int) -> LiveSession:
    live = await _readable(db, who, session_id)
    course = await db.get(Course, live.course_id)
    if course is None:
        raise NotFound(f"session {session_id} not found")
    require_course_owner(who, course, "change the lesson's prepared questions")
    if live.status == SessionStatus.ENDED:
        raise InvalidState("the lesson has ended")
    return live


@router.get("/{session_id}/bank", response_model=list[LessonItemOut])
async def list_attached(session_id: PathId, who: Caller, db: DB) -> list[LessonItemOut]:
    """Embedded questions by position, then the rest in the order they were attached."""
    await _readable(db, who, session_id)
    return [
        LessonItemOut(item_id=item.item_id, position=item.position, **shown_data(entry_of(b), who))
        for item, b in await lesson_items(db, session_id)
    ]


@router.put("/{session_id}/bank/{item_id}", response_model=LessonItemOut)
async def attach(
    session_id: PathId, item_id: PathId, body: AttachIn, who: Caller, db: DB
) -> LessonItemOut:
    """Attach an item of the course's bank (again: change its position)."""
    live = await _owned(db, who, session_id)
    bank_item = await course_item(db, live.course_id, item_id)
    position = check_position(body.position, bank_item.use, LIMITS)
    attached = await lesson_items(db, session_id)
    row = next((r for r, _ in attached if r.item_id == item_id), None)
    if row is None:
        if len(attached) >= MAX_ATTACHED:
            raise InvalidState(f"a lesson holds at most {MAX_ATTACHED} prepared items")
        row = LessonItem(session_id=session_id, item_id=item_id)
    row.position = position
    db.add(row)
    await db.commit()
    return LessonItemOut(item_id=item_id, position=position, **shown_data(entry_of(bank_item), who))


@router.delete("/{session_id}/bank/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def detach(session_id: PathId, item_id: PathId, who: Caller, db: DB) -> Response:
    await _owned(db, who, session_id)
    row = next((r for r, _ in await lesson_items(db, session_id) if r.item_id == item_id), None)
    if row is None:
        raise NotFound(f"bank item {item_id} is not attached to this lesson")
    await db.delete(row)
    await db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
