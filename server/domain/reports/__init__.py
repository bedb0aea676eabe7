"""Lesson reports: pure projections of a session's event log and engagement timeline."""

from server.domain.reports.inputs import ALL, Person, Scope, TimelineRow, site_scope, student_scope
from server.domain.reports.lesson import LessonReport, build_lesson_report
from server.domain.reports.table import HEADER, report_rows

__all__ = [
    "ALL",
    "HEADER",
    "LessonReport",
    "Person",
    "Scope",
    "TimelineRow",
    "build_lesson_report",
    "report_rows",
    "site_scope",
    "student_scope",
]
