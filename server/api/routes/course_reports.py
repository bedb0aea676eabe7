"""The course view across lessons (JSON for the page, formula-safe CSV for a spreadsheet):
each student's minutes present, answers, correct answers and episodes lesson by lesson, and the
falling-behind flag. Rows are cut to the caller as in the lesson report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from server.api.deps import DB, Caller, SvcDep
from server.domain.reports import COURSE_HEADER, course_rows
from server.exports.csv_safe import csv_text
from server.services.course_reports import course_report
from server.services.ids import PathId

router = APIRouter(prefix="/api/courses", tags=["reports"])


@router.get("/{course_id}/report")
async def get_course_report(course_id: PathId, who: Caller, db: DB, svc: SvcDep) -> dict[str, Any]:
    """The course view: the course's lessons that started, oldest first, and a row per student
    with a cell per lesson, totals, and (for staff) the falling-behind flag with its reasons."""
    report = await course_report(db, who, course_id, svc.settings.trends)
    out = report.as_dict()
    out["csv_url"] = f"/api/courses/{course_id}/report.csv"
    return out


@router.get("/{course_id}/report.csv", response_class=Response)
async def get_course_report_csv(course_id: PathId, who: Caller, db: DB, svc: SvcDep) -> Response:
    """The course view as CSV: one row per student and lesson."""
    report = await course_report(db, who, course_id, svc.settings.trends)
    return Response(
        csv_text(COURSE_HEADER, course_rows(report)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="course-{course_id}-report.csv"',
            "Cache-Control": "no-store",
        },
    )
