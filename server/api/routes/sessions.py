"""Live sessions: schedule, start, end, list, and students' join links."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, status
from sqlmodel import col, select

from server.api.deps import DB, Caller, SvcDep
from server.api.schemas import IceOut, JoinLinkOut, NodeOut, SessionIn, SessionOut
from server.db.models import Course, Enrolment, LiveSession, User
from server.domain.errors import NotFound
from server.domain.live.commands import EndSession, StartSession
from server.domain.roles import Role
from server.services.access import (
    require_course_owner,
    require_role,
    session_filter,
    visible_course,
    visible_session,
)
from server.services.ice import REFRESH_MARGIN_SECONDS, ice_servers_for
from server.services.ids import PathId
from server.services.join_links import make_join_link
from server.services.lifecycle import LifecycleCommand, change_status
from server.services.registry import Services

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


@router.get("", response_model=list[SessionOut])
async def list_sessions(who: Caller, db: DB) -> list[LiveSession]:
    query = select(LiveSession).where(session_filter(who)).order_by(col(LiveSession.id))
    return list(await db.exec(query))


@router.post("", response_model=SessionOut, status_code=status.HTTP_201_CREATED)
async def create_session(body: SessionIn, who: Caller, db: DB) -> LiveSession:
    require_role(who, {Role.ADMIN, Role.TEACHER}, "schedule sessions")
    course = await visible_course(db, who, body.course_id)
    require_course_owner(who, course, "schedule sessions")
    live = LiveSession(course_id=body.course_id, title=body.title, scheduled_at=body.scheduled_at)
    db.add(live)
    await db.commit()
    return live


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(session_id: PathId, who: Caller, db: DB) -> LiveSession:
    return await visible_session(db, who, session_id)


async def _owned(db: DB, who: Caller, session_id: int, action: str) -> LiveSession:
    live = await visible_session(db, who, session_id)
    course = await db.get(Course, live.course_id)
    if course is None:
        raise NotFound(f"session {session_id} not found")
    require_course_owner(who, course, action)
    return live


async def _lifecycle(
    request: Request, db: DB, who: Caller, session_id: int, command: LifecycleCommand
) -> LiveSession:
    """Start or end through the session's single writer, stamped with the time of this call;
    the answer is the row, which the writer has projected from the stored event."""
    at = request.app.state.services.clock()
    action = "start" if isinstance(command, StartSession) else "end"
    live = await _owned(db, who, session_id, f"{action} the session")
    await db.commit()  # ends this read: the writer updates the row
    await change_status(request.app, session_id, who, command, at)
    await db.refresh(live)
    return live


@router.post("/{session_id}/start", response_model=SessionOut)
async def start_session(session_id: PathId, who: Caller, db: DB, request: Request) -> LiveSession:
    return await _lifecycle(request, db, who, session_id, StartSession())


@router.post("/{session_id}/end", response_model=SessionOut)
async def end_session(session_id: PathId, who: Caller, db: DB, request: Request) -> LiveSession:
    return await _lifecycle(request, db, who, session_id, EndSession())


@router.get("/{session_id}/node", response_model=NodeOut)
async def session_node(session_id: PathId, who: Caller, db: DB, request: Request) -> NodeOut:
    """Where to connect for this session's live websocket and media: its owner node in a
    cluster (``HYFLEX_REDIS_URL``), this server otherwise (or while no node owns it yet)."""
    await visible_session(db, who, session_id)
    svc: Services = request.app.state.services
    cluster = request.app.state.realtime.cluster
    url = await cluster.owner_url(session_id) if cluster is not None else None
    return NodeOut(url=url or svc.settings.base_url, clustered=cluster is not None)


@router.get("/{session_id}/ice", response_model=IceOut)
async def session_ice(session_id: PathId, who: Caller, db: DB, svc: SvcDep) -> IceOut:
    """The STUN/TURN servers this participant's browser uses for the session's media, with
    TURN credentials of its own that expire after ``HYFLEX_TURN_TTL_SECONDS``."""
    await visible_session(db, who, session_id)
    now = time.time()
    servers, expires_at = ice_servers_for(svc.settings, f"u{who.user_id}", now)
    margin = min(REFRESH_MARGIN_SECONDS, svc.settings.turn_ttl_seconds // 2)
    return IceOut(ice_servers=servers, expires_at=expires_at, refresh_after=expires_at - margin)


@router.post("/{session_id}/join-links", response_model=list[JoinLinkOut])
async def join_links(session_id: PathId, who: Caller, db: DB, svc: SvcDep) -> list[JoinLinkOut]:
    """Signed, expiring links, one per enrolled student (a facilitator: their site's only).
    After the session they open the catch-up player for ``HYFLEX_CATCHUP_DAYS``."""
    require_role(who, {Role.ADMIN, Role.TEACHER, Role.FACILITATOR}, "hand out join links")
    live = await visible_session(db, who, session_id)
    if who.role == Role.TEACHER:
        course = await visible_course(db, who, live.course_id)
        require_course_owner(who, course, "hand out join links")
    query = (
        select(Enrolment, User)
        .where(col(Enrolment.course_id) == live.course_id)
        .where(col(Enrolment.student_id) == col(User.id))
        .order_by(col(User.id))
    )
    if who.role == Role.FACILITATOR:
        query = query.where(col(Enrolment.site_id) == who.home_site_id)
    now = time.time()
    return [
        make_join_link(
            svc.settings, svc.signer, live=live, student=user, site_id=enrolment.site_id, now=now
        )
        for enrolment, user in await db.exec(query)
    ]
