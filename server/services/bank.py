"""The question bank in the database: a course's items, what is attached to a lesson, and who
may see the keys. Items are checked by ``server.domain.bank`` (the live session's rules)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import BankItem, LessonItem
from server.domain.bank import MAX_ITEMS_PER_COURSE, BankEntry, entry_from_stored
from server.domain.errors import Conflict, NotFound
from server.domain.roles import Role
from server.services.principal import Principal


def entry_of(item: BankItem) -> BankEntry:
    return entry_from_stored(item.use, item.spec, item.anonymous)


def shown_data(entry: BankEntry, who: Principal) -> dict[str, Any]:
    """The item for ``who``: a facilitator reads the prompt but not the key, as in the live
    session, where only the teacher and admins see keys."""
    data = entry.data()
    if who.role not in (Role.ADMIN, Role.TEACHER):
        data["spec"]["correct"] = None
    return data


async def course_items(db: AsyncSession, course_id: int) -> list[BankItem]:
    query = select(BankItem).where(col(BankItem.course_id) == course_id).order_by(col(BankItem.id))
    return list(await db.exec(query))


async def item_lessons(db: AsyncSession, item_ids: Iterable[int]) -> dict[int, list[int]]:
    rows = await db.exec(select(LessonItem).where(col(LessonItem.item_id).in_(list(item_ids))))
    out: dict[int, list[int]] = {}
    for row in rows:
        out.setdefault(row.item_id, []).append(row.session_id)
    return {k: sorted(v) for k, v in out.items()}


async def course_item(db: AsyncSession, course_id: int, item_id: int) -> BankItem:
    item = await db.get(BankItem, item_id)
    if item is None or item.course_id != course_id:
        raise NotFound(f"bank item {item_id} not found")
    return item


async def room_for(db: AsyncSession, course_id: int, adding: int) -> None:
    count = (await db.exec(select(func.count()).where(col(BankItem.course_id) == course_id))).one()
    if count + adding > MAX_ITEMS_PER_COURSE:
        raise Conflict(f"a course's bank holds at most {MAX_ITEMS_PER_COURSE} items")


def new_item(course_id: int, entry: BankEntry) -> BankItem:
    spec = entry.spec.full_data()
    return BankItem(course_id=course_id, use=entry.use, anonymous=entry.anonymous, spec=spec)


def store(item: BankItem, entry: BankEntry) -> BankItem:
    item.use = entry.use
    item.anonymous = entry.anonymous
    item.spec = entry.spec.full_data()
    return item


async def lesson_items(db: AsyncSession, session_id: int) -> list[tuple[LessonItem, BankItem]]:
    """Attached items: embedded questions by position first, then the rest as attached."""
    rows = list(
        await db.exec(
            select(LessonItem, BankItem)
            .where(col(LessonItem.session_id) == session_id)
            .where(col(LessonItem.item_id) == col(BankItem.id))
            .order_by(col(LessonItem.id))
        )
    )
    return sorted(rows, key=lambda r: (r[0].position is None, r[0].position or 0.0, r[0].id or 0))
