"""Lesson reports, computed from the session's event log and engagement timeline: JSON for the
report page, CSV (formula-safe) for a spreadsheet. Rows are cut to the caller: the course's
teacher and admins all, a facilitator their site's students, a student their own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from server.api.deps import DB, Caller, SvcDep
from server.db.models import LiveSession
from server.domain.reports import HEADER, report_rows
from server.exports.csv_safe import csv_text
from server.realtime.media.recording import list_recordings
from server.services.ids import PathId
from server.services.reports import lesson_report

router = APIRouter(prefix="/api/sessions", tags=["reports"])


@router.get("/{session_id}/report")
async def get_report(session_id: PathId, who: Caller, db: DB, svc: SvcDep) -> dict[str, Any]:
    """The lesson report: attendance (join and leave times, minutes present), every activity
    with each student's answer, correctness, seconds to answer, live or catch-up; confusion and
    disengagement episodes and alerts on the lesson clock; Q&A; the recordings."""
    report = await lesson_report(db, who, session_id)
    out = report.as_dict()
    out["recordings"] = [
        {"name": r.name, "url": f"/api/sessions/{session_id}/recordings/{r.name}"}
        for r in list_recordings(svc.settings.data_dir, session_id)
    ]
    out["csv_url"] = f"/api/sessions/{session_id}/report.csv"
    live = await db.get(LiveSession, session_id)
    if live is not None and who.session_scope is None:  # a join link opens this lesson only
        out["course_report_url"] = f"/course-report/{live.course_id}"
    return out


@router.get("/{session_id}/report.csv", response_class=Response)
async def get_report_csv(session_id: PathId, who: Caller, db: DB) -> Response:
    """The lesson report as CSV: one row per student and activity, with attendance columns.
    Cells a spreadsheet would run as a formula are quoted as text."""
    report = await lesson_report(db, who, session_id)
    return Response(
        csv_text(HEADER, report_rows(report)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="lesson-{session_id}-report.csv"',
            "Cache-Control": "no-store",
        },
    )
