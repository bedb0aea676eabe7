"""The course view over HTTP: a lesson stored in the event log, read back across the course
as each kind of caller (rows cut to them, the flag for staff only) and as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.api.test_reports import _lesson
from tests.api.world import build_world


async def test_course_view_per_caller_and_csv(app_and_client: Any) -> None:
    app, client = app_and_client
    world = await build_world(app, client)
    who = await _lesson(world)
    here, there = who["here"].user_id, who["there"].user_id
    url = f"/api/courses/{world.ids['course']}/report"

    teacher = (await world.call("teacher", "GET", url)).json()
    assert [lesson["session_id"] for lesson in teacher["lessons"]] == [world.ids["session"]]
    assert teacher["lessons"][0]["activities"] == 2  # the poll and the question
    rows = {r["user_id"]: r for r in teacher["students"]}
    assert len(rows) == 40
    cell = rows[here]["lessons"][0]
    assert cell["minutes"] == 1.0 and cell["answered"] == 1 and cell["confused_episodes"] == 1
    # One lesson missed (1 minute) is not yet "behind" (2 are); 2 activities are too few to judge.
    assert rows[here]["falling_behind"] is False and rows[here]["why"] == []
    assert teacher["rule"]["window_lessons"] == 3 and teacher["csv_url"].endswith("report.csv")

    fac = (await world.call("fac", "GET", url)).json()
    assert {r["site_id"] for r in fac["students"]} == {who["here"].site_id}
    assert there not in {r["user_id"] for r in fac["students"]}

    own = (await world.call("student", "GET", url)).json()
    assert [r["user_id"] for r in own["students"]] == [here]
    assert own["students"][0]["falling_behind"] is None

    assert (await world.call("joined", "GET", url)).status_code == 403
    assert (await world.call("student2", "GET", url)).status_code == 404
    assert (await world.call("teacher", "GET", "/api/courses/0/report")).status_code == 422

    resp = await world.call("teacher", "GET", url + ".csv")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"] == (
        f'attachment; filename="course-{world.ids["course"]}-report.csv"'
    )
    table = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(table) == 40  # 40 students x 1 lesson
    mine = next(r for r in table if r["student_id"] == str(here))
    assert mine["minutes_present"] == "1.0" and mine["answered"] == "1"
    assert mine["session_id"] == str(world.ids["session"])
