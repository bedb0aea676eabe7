"""Lesson reports: pure projections of a session's event log and engagement timeline."""

from server.domain.reports.behind import BehindSettings
from server.domain.reports.course import CSV_HEADER as COURSE_HEADER
from server.domain.reports.course import CourseReport, build_course_report, course_rows
from server.domain.reports.inputs import ALL, Person, Scope, TimelineRow, site_scope, student_scope
from server.domain.reports.lesson import LessonReport, build_lesson_report
from server.domain.reports.table import HEADER, report_rows

__all__ = [
    "ALL",
    "COURSE_HEADER",
    "HEADER",
    "BehindSettings",
    "CourseReport",
    "LessonReport",
    "Person",
    "Scope",
    "TimelineRow",
    "build_course_report",
    "build_lesson_report",
    "course_rows",
    "report_rows",
    "site_scope",
    "student_scope",
]
