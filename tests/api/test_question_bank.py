"""The question bank: CRUD checked by the live session's rules, CSV and JSON round trips, a
formula-safe export, an all-or-nothing import, and items attached to a lesson."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tests.api.world import World, build_world

POLL = {
    "use": "poll",
    "anonymous": True,
    "spec": {"kind": "single", "prompt": "Which is a prime?", "options": ["4", "7", "9"]},
}
QUESTION = {
    "use": "question",
    "spec": {
        "kind": "multiple",
        "prompt": "Pick the even numbers",
        "options": ["2", "3", "4"],
        "correct": {"choices": [2, 0]},
    },
}
NUMERIC = {
    "use": "question",
    "spec": {
        "kind": "numeric",
        "prompt": "=1+1 (what is it?)",
        "correct": {"number": -2.5},
        "min_value": -10,
        "max_value": 10,
        "tolerance": 0.5,
    },
}
TEXT = {
    "use": "question",
    "spec": {
        "kind": "text",
        "prompt": "@name the capital",
        "max_length": 40,
        "correct": {"text": "-Paris"},
    },
}


async def _world(app_and_client: Any) -> World:
    app, client = app_and_client
    return await build_world(app, client)


def _bank(world: World) -> str:
    return f"/api/courses/{world.ids['course']}/bank"


async def _add(world: World, item: dict[str, Any], actor: str = "teacher") -> dict[str, Any]:
    resp = await world.call(actor, "POST", _bank(world), json=item)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_crud_with_the_live_sessions_rules(app_and_client: Any) -> None:
    world = await _world(app_and_client)
    poll = await _add(world, POLL)
    assert poll["spec"]["options"] == ["4", "7", "9"] and poll["anonymous"] is True
    question = await _add(world, QUESTION)
    assert question["spec"]["correct"] == {"choices": [0, 2]}  # normalised as live
    bad = [
        ({**POLL, "spec": {**POLL["spec"], "options": ["only one"]}}, "between 2 and 10"),
        ({**POLL, "spec": {**POLL["spec"], "options": ["a", "A"]}}, "options must differ"),
        ({**POLL, "spec": {**POLL["spec"], "kind": "essay"}}, "unknown kind"),
        ({**QUESTION, "anonymous": True}, "only a poll can be anonymous"),
        ({**QUESTION, "spec": {**QUESTION["spec"], "correct": {"choices": [7]}}}, "invalid option"),
        ({**POLL, "spec": {**POLL["spec"], "prompt": " "}}, "prompt"),
        ({**POLL, "spec": {**POLL["spec"], "colour": "red"}}, "spec"),
    ]
    for item, words in bad:
        resp = await world.call("teacher", "POST", _bank(world), json=item)
        assert resp.status_code == 422, resp.text
        assert words in resp.json()["error"]["message"], resp.text
    changed = {**POLL, "spec": {**POLL["spec"], "prompt": "Which one is prime?"}}
    resp = await world.call("teacher", "PUT", f"{_bank(world)}/{poll['id']}", json=changed)
    assert resp.status_code == 200 and resp.json()["spec"]["prompt"] == "Which one is prime?"
    listed = (await world.call("teacher", "GET", _bank(world))).json()
    assert [i["id"] for i in listed] == [poll["id"], question["id"]]
    resp = await world.call("teacher", "DELETE", f"{_bank(world)}/{poll['id']}")
    assert resp.status_code == 204
    assert [i["id"] for i in (await world.call("teacher", "GET", _bank(world))).json()] == [
        question["id"]
    ]


async def test_facilitators_read_without_keys_and_students_never(app_and_client: Any) -> None:
    world = await _world(app_and_client)
    item = await _add(world, QUESTION)
    await world.call(
        "teacher",
        "PUT",
        f"/api/sessions/{world.ids['session']}/bank/{item['id']}",
        json={"position": 30},
    )
    for url in (_bank(world), f"/api/sessions/{world.ids['session']}/bank"):
        seen = (await world.call("fac", "GET", url)).json()
        assert seen[0]["spec"]["prompt"] == "Pick the even numbers"
        assert seen[0]["spec"]["correct"] is None
        for student in ("student", "joined"):
            resp = await world.call(student, "GET", url)
            assert resp.status_code == 403 and "Pick" not in resp.text


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_round_trip_is_formula_safe(app_and_client: Any) -> None:
    world = await _world(app_and_client)
    for item in (POLL, QUESTION, NUMERIC, TEXT):
        await _add(world, item)
    resp = await world.call("teacher", "GET", f"{_bank(world)}.csv")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = _rows(resp.text)
    assert rows[2]["prompt"] == "'=1+1 (what is it?)"  # a spreadsheet shows it as text
    assert rows[2]["correct"] == "-2.5" and rows[2]["min_value"] == "-10.0"  # numbers stay numbers
    assert rows[3]["prompt"] == "'@name the capital" and rows[3]["correct"] == "'-Paris"
    assert rows[1]["correct"] == "1,3" and rows[0]["anonymous"] == "true"
    before = (await world.call("teacher", "GET", _bank(world))).json()
    # into another course of the same teacher: the same items, the quote dropped again
    course = await world.call(
        "teacher",
        "POST",
        "/api/courses",
        json={"code": "PHY-2", "title": "Physics 2", "teacher_id": world.ids["teacher"]},
    )
    other = course.json()["id"]
    files = {"file": ("bank.csv", resp.content, "text/csv")}
    report = await world.call("teacher", "POST", f"/api/courses/{other}/bank/import", files=files)
    assert report.json() == {"imported": True, "rows": 4, "added": 4, "unchanged": 0, "errors": []}
    after = (await world.call("teacher", "GET", f"/api/courses/{other}/bank")).json()
    assert [(i["use"], i["anonymous"], i["spec"]) for i in after] == [
        (i["use"], i["anonymous"], i["spec"]) for i in before
    ]
    # the same file again adds nothing
    again = await world.call("teacher", "POST", f"/api/courses/{other}/bank/import", files=files)
    assert again.json()["added"] == 0 and again.json()["unchanged"] == 4


async def test_json_round_trip(app_and_client: Any) -> None:
    world = await _world(app_and_client)
    for item in (POLL, NUMERIC, TEXT):
        await _add(world, item)
    resp = await world.call("teacher", "GET", f"{_bank(world)}.json")
    doc = resp.json()
    assert doc["format"] == "hyflex-question-bank" and len(doc["items"]) == 3
    assert doc["items"][1]["spec"]["correct"] == {"number": -2.5}
    for item in (await world.call("teacher", "GET", _bank(world))).json():
        await world.call("teacher", "DELETE", f"{_bank(world)}/{item['id']}")
    files = {"file": ("bank.json", resp.content, "application/json")}
    report = await world.call("teacher", "POST", f"{_bank(world)}/import", files=files)
    assert report.json()["added"] == 3
    items = (await world.call("teacher", "GET", _bank(world))).json()
    assert [{k: i[k] for k in ("use", "anonymous", "spec")} for i in items] == doc["items"]


async def test_import_reports_every_bad_row_and_adds_nothing(app_and_client: Any) -> None:
    world = await _world(app_and_client)
    text = (
        "use,kind,prompt,option_1,option_2,correct,anonymous\n"
        "poll,single,Good one,A,B,2,false\n"
        "poll,single,One option,A,,,\n"
        "survey,single,Bad use,A,B,,\n"
        "question,single,Bad key,A,B,5,\n"
        "question,numeric,Bad number,,,ten,\n"
        'question,single,"Anon question",A,B,,true\n'
        "poll,single,Two lines\n"
    )
    files = {"file": ("bank.csv", text.encode(), "text/csv")}
    dry = await world.call("teacher", "POST", f"{_bank(world)}/import?dry_run=true", files=files)
    report = dry.json()
    assert report["imported"] is False and report["rows"] == 7
    reasons = {e["line"]: e["reason"] for e in report["errors"]}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert "between 2 and 10" in reasons[3]
    assert "use must be" in reasons[4]
    assert "invalid option" in reasons[5]
    assert "must be a number" in reasons[6]
    assert "only a poll can be anonymous" in reasons[7]
    resp = await world.call("teacher", "POST", f"{_bank(world)}/import", files=files)
    assert resp.json()["imported"] is False
    assert (await world.call("teacher", "GET", _bank(world))).json() == []
    good = {
        "file": ("bank.csv", b"use,kind,prompt,option_1,option_2\npoll,single,Ok,A,B\n", "text/csv")
    }
    dry = await world.call("teacher", "POST", f"{_bank(world)}/import?dry_run=true", files=good)
    assert dry.json() == {"imported": False, "rows": 1, "added": 1, "unchanged": 0, "errors": []}
    assert (await world.call("teacher", "GET", _bank(world))).json() == []
    for raw, words in (
        (b"\xff\xfe", "not UTF-8"),
        (b"kind,prompt\n", "missing column(s): use"),
        (b"use,kind,prompt,colour\n", "unknown column(s): colour"),
        (b'{"items": [{"use": "poll"}, 3]}', "spec must be an object"),
    ):
        name = "b.json" if raw.startswith(b"{") else "b.csv"
        resp = await world.call(
            "teacher", "POST", f"{_bank(world)}/import", files={"file": (name, raw, "text/plain")}
        )
        assert resp.status_code == 200 and words in json.dumps(resp.json()), resp.text


async def test_attach_to_a_lesson_with_positions(app_and_client: Any) -> None:
    world = await _world(app_and_client)
    poll = await _add(world, POLL)
    question = await _add(world, QUESTION)
    lesson = f"/api/sessions/{world.ids['session']}/bank"
    resp = await world.call("teacher", "PUT", f"{lesson}/{poll['id']}", json={"position": 10})
    assert resp.status_code == 422 and "only an embedded question" in resp.text
    assert (
        await world.call("teacher", "PUT", f"{lesson}/{poll['id']}", json={})
    ).status_code == 200
    resp = await world.call("teacher", "PUT", f"{lesson}/{question['id']}", json={"position": 95})
    assert resp.status_code == 200 and resp.json()["position"] == 95
    resp = await world.call("teacher", "PUT", f"{lesson}/{question['id']}", json={"position": -1})
    assert resp.status_code == 422 and "outside the lesson" in resp.text
    listed = (await world.call("teacher", "GET", lesson)).json()
    assert [(i["item_id"], i["position"]) for i in listed] == [
        (question["id"], 95),
        (poll["id"], None),
    ]
    assert listed[0]["spec"]["correct"] == {"choices": [0, 2]}
    bank = (await world.call("teacher", "GET", _bank(world))).json()
    assert bank[0]["lessons"] == [world.ids["session"]]
    # an item of another course is not found; detaching twice is not found
    resp = await world.call("teacher", "PUT", f"{lesson}/999999", json={})
    assert resp.status_code == 404
    assert (await world.call("teacher", "DELETE", f"{lesson}/{poll['id']}")).status_code == 204
    assert (await world.call("teacher", "DELETE", f"{lesson}/{poll['id']}")).status_code == 404
    # deleting a bank item detaches it
    await world.call("teacher", "DELETE", f"{_bank(world)}/{question['id']}")
    assert (await world.call("teacher", "GET", lesson)).json() == []
    await world.call("teacher", "POST", f"/api/sessions/{world.ids['session']}/end")
    resp = await world.call("teacher", "PUT", f"{lesson}/{poll['id']}", json={})
    assert resp.status_code == 409 and "ended" in resp.text
