"""Printable join-link sheets per site (each student's name, link and QR code) and the same
as CSV. A facilitator gets only their own site's sheet; students never get one."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import col, select

from server.api.bank_schemas import JoinSheetOut, SheetSite, SheetStudent
from server.api.deps import DB, Caller, SvcDep
from server.db.models import Course, Enrolment, Site, User
from server.domain.errors import NotFound
from server.domain.roles import Role
from server.exports.csv_safe import csv_text
from server.services.access import require_course_owner, require_role, visible_session
from server.services.ids import MAX_ID, PathId
from server.services.join_links import link_expires_at, make_join_link, qr_svg_data_uri
from server.services.principal import Principal

router = APIRouter(prefix="/api/sessions", tags=["join links"])
SiteQuery = Annotated[
    int | None, Query(ge=0, le=MAX_ID, description="one site; 0 = students at home")
]
AT_HOME = "At home"


async def _sheet(
    db: DB, svc: SvcDep, who: Principal, session_id: int, site: int | None
) -> JoinSheetOut:
    require_role(who, {Role.ADMIN, Role.TEACHER, Role.FACILITATOR}, "print join links")
    live = await visible_session(db, who, session_id)
    course = await db.get(Course, live.course_id)
    if course is None:
        raise NotFound(f"session {session_id} not found")
    if who.role == Role.TEACHER:
        require_course_owner(who, course, "print join links")
    query = (
        select(Enrolment, User)
        .where(col(Enrolment.course_id) == live.course_id)
        .where(col(Enrolment.student_id) == col(User.id))
        .order_by(col(User.display_name), col(User.id))
    )
    if who.role == Role.FACILITATOR:
        if who.home_site_id is None or site not in (None, who.home_site_id):
            raise NotFound(f"site {site} not found")
        site = who.home_site_id
    if site is not None:
        at = col(Enrolment.site_id).is_(None) if site == 0 else col(Enrolment.site_id) == site
        query = query.where(at)
    rows = list(await db.exec(query))
    names = {s.id: s.name for s in await db.exec(select(Site))}
    if site and site not in names:
        raise NotFound(f"site {site} not found")
    now = time.time()
    grouped: dict[int | None, list[SheetStudent]] = {}
    if site is not None:
        grouped[site or None] = []  # an empty site still gets its (empty) sheet
    for enrolment, user in rows:
        link = make_join_link(
            svc.settings, svc.signer, live=live, student=user, site_id=enrolment.site_id, now=now
        )
        grouped.setdefault(enrolment.site_id, []).append(
            SheetStudent(
                student_id=link.student_id,
                display_name=link.display_name,
                url=link.url,
                qr_svg=qr_svg_data_uri(link.url),
            )
        )
    order = sorted(grouped, key=lambda s: (s is None, names.get(s, "") if s else ""))
    return JoinSheetOut(
        session_id=session_id,
        title=live.title,
        course_title=course.title,
        scheduled_at=live.scheduled_at,
        expires_at=datetime.fromtimestamp(link_expires_at(svc.settings, live, now), UTC),
        catch_up_days=svc.settings.catchup_days,
        sites=[
            SheetSite(site_id=s, site_name=names.get(s, AT_HOME), students=grouped[s])
            for s in order
        ],
    )


@router.get("/{session_id}/join-sheet", response_model=JoinSheetOut)
async def join_sheet(
    session_id: PathId, who: Caller, db: DB, svc: SvcDep, site_id: SiteQuery = None
) -> JoinSheetOut:
    """Per site: each student's name, join link and its QR code, for the printable page
    ``/sessions/{id}/links``. Links work for the live lesson and catch-up afterwards."""
    return await _sheet(db, svc, who, session_id, site_id)


@router.get("/{session_id}/join-sheet.csv", response_class=Response)
async def join_sheet_csv(
    session_id: PathId, who: Caller, db: DB, svc: SvcDep, site_id: SiteQuery = None
) -> Response:
    """The same links as CSV: site, student, link, valid until."""
    sheet = await _sheet(db, svc, who, session_id, site_id)
    until = f"{sheet.expires_at:%Y-%m-%d %H:%M} UTC"
    rows = [
        (site.site_name, student.display_name, student.url, until)
        for site in sheet.sites
        for student in site.students
    ]
    return Response(
        csv_text(("site", "student", "link", "valid_until"), rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="lesson-{session_id}-join-links.csv"',
            "Cache-Control": "no-store",
        },
    )
