"""Benchmark of the lesson report (120 students x 30 activities) and of the course view
(10 such lessons x 120 students).

A synthetic lesson is driven through the live domain (``LiveAggregate``): 120 students at four
sites and at home join (a tenth drop out and rejoin), 20 polls and 10 embedded questions each
answered by every student (a tenth change their poll answer), Q&A, the end, then catch-up
answers; plus engagement timeline rows (confusion episodes, alerts). Measured, median of
``--runs`` runs:

- ``domain``: building the report from the event list (``build_lesson_report``), rendering its
  JSON (``as_dict`` + ``json.dumps``) and its CSV (``report_rows`` + ``csv_text``);
- ``http``: the same lesson stored in a SQLite database (event log, enrolments, timeline), read
  through the real routes ``GET /api/sessions/{id}/report`` and ``.../report.csv`` in process
  (httpx's ASGI transport): loading, building and rendering, as the server does it;
- ``xapi``: the lesson's xAPI statements built from its log (``lesson_statements``);
- ``course``: the course view of ``LESSONS`` copies of that lesson: in the domain (building the
  lesson reports and ``build_course_report``, JSON) and through ``GET /api/courses/{id}/report``
  and ``.../report.csv`` on the same SQLite database.

Usage: .venv/bin/python bench/report.py [--runs 7]
The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from server.domain.events import Event
from server.domain.live import Answer, Command, LiveAggregate, PromptSpec, Roster
from server.domain.live.commands import (
    AnswerPoll,
    AnswerQuestion,
    ClosePoll,
    CloseQuestion,
    EndSession,
    Join,
    LaunchQuestion,
    Leave,
    OpenPoll,
    QnaAsk,
    QnaMarkAnswered,
    StartSession,
)
from server.domain.live.event_types import DERIVED_EVENT_TYPES
from server.domain.reports import (
    ALL,
    HEADER,
    BehindSettings,
    LessonReport,
    Person,
    TimelineRow,
    build_course_report,
    build_lesson_report,
    report_rows,
)
from server.domain.roles import Actor, Role
from server.domain.xapi import Identity, lesson_statements
from server.exports.csv_safe import csv_text

STUDENTS = 120
ACTIVITIES = 30
LESSONS = 10
T0 = 1_800_000_000.0


def lesson(
    teacher_id: int, student_ids: list[int], site_ids: list[int | None]
) -> tuple[list[Event], list[TimelineRow]]:
    """The scripted lesson's logged events and its engagement timeline rows."""
    teacher = Actor(teacher_id, Role.TEACHER)
    students = [
        Actor(uid, Role.STUDENT, site_ids[i % len(site_ids)]) for i, uid in enumerate(student_ids)
    ]
    live = LiveAggregate(1, Roster([teacher, *students]))
    log: list[Event] = []
    now = T0

    def do(actor: Actor, command: Command, step: float = 0.05) -> None:
        nonlocal now
        now += step
        events = live.handle(actor, command, now)
        log.extend(e for e in events if e.type not in DERIVED_EVENT_TYPES)

    do(teacher, StartSession())
    for s in students:
        do(s, Join())
    polls = questions = asked = 0
    for k in range(ACTIVITIES):
        if k % 3 == 2:
            questions += 1
            spec = PromptSpec("numeric", f"Q{k}: g?", correct=Answer(number=9.8), tolerance=0.1)
            do(teacher, LaunchQuestion(spec), 30)
            for i, s in enumerate(students[: STUDENTS - 10]):
                do(s, AnswerQuestion(questions, Answer(number=9.8 + (i % 3) * 0.1)))
            do(teacher, CloseQuestion(questions))
            continue
        polls += 1
        options = ("a", "b", "c", "d")
        do(teacher, OpenPoll(PromptSpec("single", f"P{k}", options, Answer(choices=(1,)))), 30)
        for i, s in enumerate(students):
            do(s, AnswerPoll(polls, Answer(choices=(i % 4,))))
            if i % 10 == 0:
                do(s, AnswerPoll(polls, Answer(choices=(1,))))
        do(teacher, ClosePoll(polls))
        if k % 5 == 0:
            for s in students[k % 10 :: 10]:
                do(s, Leave())
                do(s, Join(), 20)
            asked += 1
            do(students[k], QnaAsk(f"Question {k}?"))
            do(teacher, QnaMarkAnswered(asked))
    do(teacher, EndSession())
    for s in students[STUDENTS - 10 :]:
        for q in range(1, questions + 1):
            do(s, AnswerQuestion(q, Answer(number=9.8)), 5)
    timeline: list[TimelineRow] = []
    for i, s in enumerate(students):
        for j in range(4):
            at = T0 + 60 + j * 300 + i
            timeline.append(TimelineRow(at, "student", s.site_id, s.user_id, "confused", ("x",)))
            timeline.append(TimelineRow(at + 40, "student", s.site_id, s.user_id, "engaged", ()))
    for j in range(20):
        timeline.append(
            TimelineRow(T0 + 90 * j, "alert", site_ids[j % 4], None, "confused", ("a",))
        )
    return log, timeline


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 1)


def bench_domain(runs: int) -> dict[str, object]:
    site_ids: list[int | None] = [1, 2, 3, 4, None]
    ids = list(range(1001, 1001 + STUDENTS))
    events, timeline = lesson(1, ids, site_ids)
    people = [Person(uid, f"S{uid}", site_ids[i % 5]) for i, uid in enumerate(ids)]

    def build() -> LessonReport:
        return build_lesson_report(
            session_id=1, title="Bench", events=events, people=people, timeline=timeline, now=T0
        )

    report = build_lesson_report(
        session_id=1, title="Bench", events=events, people=people, timeline=timeline, now=T0
    )

    def course() -> str:
        lessons = [
            build_lesson_report(session_id=n, title=f"L{n}", events=events, people=people,
                                timeline=timeline, now=T0)
            for n in range(LESSONS)
        ]  # fmt: skip
        view = build_course_report(course_id=1, title="Bench", people=people, lessons=lessons,
                                   sites={}, scope=ALL, rules=BehindSettings())  # fmt: skip
        return json.dumps(view.as_dict())

    answers = sum(len(a.answers) for a in report.activities)
    logged = list(enumerate(events, 1))
    who = Identity("https://hyflex.example.org", 1, "Bench", 1, "Bench")
    return {
        "events": len(events),
        "timeline_rows": len(timeline),
        "answers": answers,
        "build_ms": median_ms(build, runs),
        "json_ms": median_ms(lambda: json.dumps(build().as_dict()), runs),
        "csv_ms": median_ms(lambda: csv_text(HEADER, report_rows(build())), runs),
        "csv_rows": len(list(report_rows(report))),
        "course_build_json_ms": median_ms(course, max(1, runs // 2)),
        "xapi_statements": len(lesson_statements(who, logged)),
        "xapi_build_ms": median_ms(lambda: lesson_statements(who, logged), runs),
    }


async def bench_http(runs: int) -> dict[str, object]:
    from server.app import create_app
    from server.db.engagement_models import EngagementTimeline
    from server.db.migrate import upgrade
    from server.db.models import (
        Consortium,
        Course,
        CourseSite,
        Enrolment,
        LiveSession,
        School,
        Site,
        User,
    )
    from server.realtime.core.event_log import EventLog, PendingEvent
    from server.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(upgrade, url)
        app = create_app(Settings(database_url=url, secret_key="b" * 40, data_dir=Path(tmp)))
        svc = app.state.services
        async with svc.sessions() as db:
            consortium = Consortium(name="Bench")
            db.add(consortium)
            await db.flush()
            school = School(consortium_id=consortium.id or 0, name="S", code="s")
            db.add(school)
            await db.flush()
            sites = [
                Site(school_id=school.id or 0, name=f"Room {i}", code=f"r{i}") for i in range(4)
            ]
            teacher = User(email="t@bench", display_name="T", role=Role.TEACHER)
            db.add_all([*sites, teacher])
            await db.flush()
            course = Course(code="B", title="Bench", teacher_id=teacher.id or 0)
            db.add(course)
            await db.flush()
            site_ids: list[int | None] = [s.id for s in sites] + [None]
            students = [
                User(email=f"s{i}@bench", display_name=f"Student {i}", role=Role.STUDENT)
                for i in range(STUDENTS)
            ]
            lessons = [
                LiveSession(course_id=course.id or 0, title=f"Bench lesson {n}")
                for n in range(LESSONS)
            ]
            db.add_all([*students, *lessons])
            db.add_all([CourseSite(course_id=course.id or 0, site_id=s.id or 0) for s in sites])
            await db.flush()
            db.add_all(
                Enrolment(course_id=course.id or 0, student_id=s.id or 0, site_id=site_ids[i % 5])
                for i, s in enumerate(students)
            )
            await db.commit()
            ids = [s.id or 0 for s in students]
            session_ids = [live.id or 0 for live in lessons]
            session_id, teacher_id, course_id = session_ids[0], teacher.id or 0, course.id or 0
        events, timeline = lesson(teacher_id, ids, site_ids)
        for sid in session_ids:
            await EventLog(svc.sessions).append(
                sid, 1, [PendingEvent(e, None, None) for e in events]
            )
            async with svc.sessions() as db:
                db.add_all(
                    EngagementTimeline(session_id=sid, at=r.at, lesson_s=r.at - T0,
                                       scope=r.scope, site_id=r.site_id, user_id=r.user_id,
                                       value=r.value, reasons=list(r.reasons))
                    for r in timeline
                )  # fmt: skip
                await db.commit()
        token = svc.signer.issue(
            user_id=teacher_id, role=Role.TEACHER, typ="access", now=time.time(), ttl_seconds=600
        )
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app)
        out: dict[str, object] = {}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for name, path in (
                ("json", f"/api/sessions/{session_id}/report"),
                ("csv", f"/api/sessions/{session_id}/report.csv"),
                ("course_json", f"/api/courses/{course_id}/report"),
                ("course_csv", f"/api/courses/{course_id}/report.csv"),
            ):
                times = []
                size = 0
                for _ in range(runs):
                    start = time.perf_counter()
                    resp = await http.get(path, headers=headers)
                    times.append(time.perf_counter() - start)
                    resp.raise_for_status()
                    size = len(resp.content)
                out[f"http_{name}_ms"] = round(statistics.median(times) * 1000, 1)
                out[f"http_{name}_bytes"] = size
        await svc.engine.dispose()
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    domain = bench_domain(args.runs)
    print(
        f"domain: {domain['events']} events, {domain['answers']} answers: build "
        f"{domain['build_ms']} ms, build+JSON {domain['json_ms']} ms, "
        f"build+CSV {domain['csv_ms']} ms ({domain['csv_rows']} rows)"
    )
    print(f"xAPI: {domain['xapi_statements']} statements built in {domain['xapi_build_ms']} ms")
    http = asyncio.run(bench_http(args.runs))
    print(f"http (SQLite): JSON {http['http_json_ms']} ms, CSV {http['http_csv_ms']} ms")
    print(
        f"course of {LESSONS} lessons: domain build+JSON {domain['course_build_json_ms']} ms; "
        f"http JSON {http['http_course_json_ms']} ms, CSV {http['http_course_csv_ms']} ms"
    )
    slowest = max(float(str(http["http_json_ms"])), float(str(http["http_csv_ms"])))
    result = {
        "bench": "report",
        "students": STUDENTS,
        "activities": ACTIVITIES,
        "lessons": LESSONS,
        "runs": args.runs,
        **domain,
        **http,
        "goal_under_1s": slowest < 1000,
        "python": sys.version.split()[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
