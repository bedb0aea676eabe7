"""A course's question bank: prepared polls and embedded questions, their CSV and JSON forms.

The course's teacher and admins manage it; facilitators of its sites read it (without the
keys); students never see it."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import Response
from sqlmodel import col, delete

from server.api.bank_schemas import BankImportReport, BankItemIn, BankItemOut
from server.api.deps import DB, Caller, SvcDep
from server.api.schemas import RowError
from server.db.models import BankItem, Course, LessonItem
from server.domain.bank import BankEntry, check_entry, parse_bank_json, prompt_spec
from server.domain.bank_csv import HEADER, entry_row, parse_bank_csv
from server.domain.errors import Conflict
from server.domain.live.limits import Limits
from server.domain.roles import STAFF_ROLES
from server.exports.csv_safe import csv_text
from server.services.access import require_course_owner, require_role, visible_course
from server.services.bank import (
    course_item,
    course_items,
    entry_of,
    item_lessons,
    new_item,
    room_for,
    shown_data,
    store,
)
from server.services.ids import PathId
from server.services.principal import Principal

router = APIRouter(prefix="/api/courses", tags=["question bank"])
LIMITS = Limits()


async def _readable(db: DB, who: Principal, course_id: int) -> Course:
    require_role(who, STAFF_ROLES, "see the question bank")
    return await visible_course(db, who, course_id)


async def _owned(db: DB, who: Principal, course_id: int, action: str) -> Course:
    course = await _readable(db, who, course_id)
    require_course_owner(who, course, action)
    return course


def _out(item: BankItem, who: Principal, lessons: list[int]) -> BankItemOut:
    assert item.id is not None
    return BankItemOut(
        id=item.id, course_id=item.course_id, lessons=lessons, **shown_data(entry_of(item), who)
    )


def _entry(body: BankItemIn) -> BankEntry:
    return check_entry(body.use, prompt_spec(body.spec), body.anonymous, LIMITS)


@router.get("/{course_id}/bank", response_model=list[BankItemOut])
async def list_bank(course_id: PathId, who: Caller, db: DB) -> list[BankItemOut]:
    """The course's items, oldest first, with the lessons each is attached to."""
    await _readable(db, who, course_id)
    items = await course_items(db, course_id)
    lessons = await item_lessons(db, [i.id for i in items if i.id is not None])
    return [_out(i, who, lessons.get(i.id or 0, [])) for i in items]


@router.post("/{course_id}/bank", response_model=BankItemOut, status_code=status.HTTP_201_CREATED)
async def add_item(course_id: PathId, body: BankItemIn, who: Caller, db: DB) -> BankItemOut:
    await _owned(db, who, course_id, "change the question bank")
    entry = _entry(body)
    await room_for(db, course_id, 1)
    item = new_item(course_id, entry)
    db.add(item)
    await db.commit()
    return _out(item, who, [])


@router.put("/{course_id}/bank/{item_id}", response_model=BankItemOut)
async def change_item(
    course_id: PathId, item_id: PathId, body: BankItemIn, who: Caller, db: DB
) -> BankItemOut:
    """Lessons it is attached to get the new wording; a lesson that already showed it keeps
    what it showed (its event log)."""
    await _owned(db, who, course_id, "change the question bank")
    item = await course_item(db, course_id, item_id)
    entry = _entry(body)
    lessons = (await item_lessons(db, [item_id])).get(item_id, [])
    if entry.use != item.use and lessons:
        names = ", ".join(map(str, lessons))
        raise Conflict(f"attached to lesson(s) {names}: detach it before changing its use")
    db.add(store(item, entry))
    await db.commit()
    return _out(item, who, lessons)


@router.delete("/{course_id}/bank/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_item(course_id: PathId, item_id: PathId, who: Caller, db: DB) -> Response:
    """Removes the item and its attachments to lessons (what a lesson showed stays in its log)."""
    await _owned(db, who, course_id, "change the question bank")
    item = await course_item(db, course_id, item_id)
    await db.exec(delete(LessonItem).where(col(LessonItem.item_id) == item_id))
    await db.delete(item)
    await db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{course_id}/bank.csv", response_class=Response)
async def export_csv(course_id: PathId, who: Caller, db: DB) -> Response:
    """The bank as CSV (columns in docs/question-bank.md); formula-like cells are quoted as
    text. Managers only: it holds the keys."""
    course = await _owned(db, who, course_id, "export the question bank")
    rows = [entry_row(entry_of(i)) for i in await course_items(db, course_id)]
    return _download(csv_text(HEADER, rows), "text/csv", f"{course.code}-bank.csv")


@router.get("/{course_id}/bank.json", response_class=Response)
async def export_json(course_id: PathId, who: Caller, db: DB) -> Response:
    course = await _owned(db, who, course_id, "export the question bank")
    items = [entry_of(i).data() for i in await course_items(db, course_id)]
    doc = {"format": "hyflex-question-bank", "version": 1, "course": course.code, "items": items}
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    return _download(text, "application/json", f"{course.code}-bank.json")


def _download(text: str, media_type: str, filename: str) -> Response:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename)
    return Response(
        text,
        media_type=f"{media_type}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/{course_id}/bank/import", response_model=BankImportReport)
async def import_bank(
    course_id: PathId,
    who: Caller,
    db: DB,
    svc: SvcDep,
    file: Annotated[UploadFile, File(description="a bank as CSV or JSON (UTF-8)")],
    dry_run: Annotated[bool, Query(description="check only, change nothing")] = False,
) -> BankImportReport:
    """All or nothing: every bad row (CSV: its line; JSON: its item number) is reported and
    nothing is added unless all are good. Items already in the bank are not added again."""
    await _owned(db, who, course_id, "import into the question bank")
    data = await file.read(svc.settings.max_body_bytes + 1)
    is_json = (file.filename or "").lower().endswith(".json") or data.lstrip()[:1] in (b"{", b"[")
    parse = parse_bank_json if is_json else parse_bank_csv
    parsed = parse(data, max_rows=svc.settings.max_csv_rows, limits=LIMITS)
    report = BankImportReport(imported=False, rows=len(parsed.entries) + len(parsed.issues))
    if parsed.issues:
        report.errors = [RowError(line=i.line, reason=i.reason) for i in parsed.issues]
        return report
    seen = {entry_of(i).fingerprint() for i in await course_items(db, course_id)}
    fresh: list[BankEntry] = []
    for _, entry in parsed.entries:
        if entry.fingerprint() in seen:
            report.unchanged += 1
        else:
            seen.add(entry.fingerprint())
            fresh.append(entry)
    await room_for(db, course_id, len(fresh))
    report.added = len(fresh)
    if dry_run:
        return report
    for entry in fresh:
        db.add(new_item(course_id, entry))
    await db.commit()
    report.imported = True
    return report
