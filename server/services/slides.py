"""Slide decks of a lesson: upload (checked, stored), render in a worker thread, list, serve.

Files: ``<data_dir>/slides/session-<id>/deck-<id>/source.pdf`` and ``<page>.<size>.webp``
(sizes in ``server/services/slide_render.py``). The ``slide_deck`` row tells how far rendering
got; a page image is served only once it is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.slide_models import SlideDeck
from server.domain.errors import BadInput, Conflict, NotFound
from server.services.registry import Services
from server.services.slide_render import (
    MEDIA_TYPES,
    SIZES,
    inspect_pdf,
    page_path,
    render_page,
)

log = logging.getLogger(__name__)
MAX_DECKS_PER_LESSON: Final = 50
MAX_TITLE: Final = 200
_RENDERING: dict[int, asyncio.Task[None]] = {}
"""Decks being rendered by this process (kept so the tasks are not garbage collected)."""
_PDFIUM = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdfium")
"""PDFium is not thread-safe: all its work runs in this one thread, page by page, so checking a
new upload waits for at most one page of another deck, and the default executor's threads are
never tied up waiting for it."""


T = TypeVar("T")


async def _in_pdfium_thread(fn: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(_PDFIUM, fn, *args)


def deck_dir(data_dir: Path, session_id: int, deck_id: int) -> Path:
    return Path(data_dir) / "slides" / f"session-{int(session_id)}" / f"deck-{int(deck_id)}"


def title_from(filename: str | None) -> str:
    """A deck's title from the uploaded file's name, printable and bounded."""
    name = (filename or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if name.lower().endswith(".pdf"):
        name = name[:-4]
    clean = "".join(ch for ch in name if ch.isprintable()).strip()
    return clean[:MAX_TITLE] or "Slides"


def deck_view(deck: SlideDeck) -> dict[str, Any]:
    base = f"/api/sessions/{deck.session_id}/slides/{deck.id}/pages"
    return {
        "deck_id": deck.id,
        "title": deck.title,
        "pages": deck.pages,
        "rendered": deck.rendered,
        "status": deck.status,
        "error": deck.error,
        "bytes": deck.bytes,
        "created_at": deck.created_at,
        "page_url": base + "/{page}/{size}",
        "sizes": sorted(SIZES),
    }


async def list_decks(db: AsyncSession, session_id: int) -> list[SlideDeck]:
    query = select(SlideDeck).where(col(SlideDeck.session_id) == session_id)
    return list(await db.exec(query.order_by(col(SlideDeck.id))))


async def add_deck(
    svc: Services,
    db: AsyncSession,
    session_id: int,
    user_id: int,
    data: bytes,
    filename: str | None,
) -> SlideDeck:
    """Check the PDF (BadInput in words when it cannot be shown), store it, start rendering."""
    settings = svc.settings
    if len(data) > settings.slides_max_bytes:
        mb = settings.slides_max_bytes / 1_000_000
        raise BadInput(f"the file is larger than {mb:g} MB, the most a slide deck may be")
    if not data:
        raise BadInput("the file is empty")
    if len(await list_decks(db, session_id)) >= MAX_DECKS_PER_LESSON:
        raise Conflict(f"a lesson may have at most {MAX_DECKS_PER_LESSON} slide decks")
    facts = await _in_pdfium_thread(inspect_pdf, data, settings.slides_max_pages)
    deck = SlideDeck(
        session_id=session_id,
        title=title_from(filename),
        pages=facts.pages,
        bytes=len(data),
        created_at=svc.clock(),
        created_by=user_id,
    )
    db.add(deck)
    await db.commit()
    await db.refresh(deck)
    assert deck.id is not None
    folder = deck_dir(settings.data_dir, session_id, deck.id)
    await asyncio.to_thread(_store_source, folder, data)
    deck_id = deck.id
    task = asyncio.create_task(_render(svc, deck_id, folder, data, facts.pages))
    _RENDERING[deck_id] = task

    def forget(_done: asyncio.Task[None]) -> None:
        _RENDERING.pop(deck_id, None)

    task.add_done_callback(forget)
    return deck


def _store_source(folder: Path, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "source.pdf").write_bytes(data)


async def _render(svc: Services, deck_id: int, folder: Path, data: bytes, pages: int) -> None:
    """Every page, one at a time in a worker thread; the row counts pages done."""
    try:
        for page in range(1, pages + 1):
            await _in_pdfium_thread(render_page, data, page, folder)
            await _update(svc, deck_id, rendered=page, status="ready" if page == pages else None)
    except BadInput as exc:
        await _update(svc, deck_id, status="failed", error=exc.message[:300])
    except Exception:
        log.exception("rendering slide deck %s failed", deck_id)
        await _update(svc, deck_id, status="failed", error="a page could not be drawn")


async def _update(svc: Services, deck_id: int, **changes: Any) -> None:
    async with svc.sessions() as db:
        deck = await db.get(SlideDeck, deck_id)
        if deck is None:
            return
        for key, value in changes.items():
            if value is not None:
                setattr(deck, key, value)
        db.add(deck)
        await db.commit()


async def wait_rendered(deck_id: int) -> None:
    """Until this process has finished rendering the deck (for tests and the CLI)."""
    task = _RENDERING.get(deck_id)
    if task is not None:
        await asyncio.shield(task)


@dataclass(frozen=True, slots=True)
class PageFile:
    path: Path
    media_type: str
    etag: str


async def page_file(
    db: AsyncSession, data_dir: Path, session_id: int, deck_id: int, page: int, size: str
) -> PageFile:
    """A rendered page image of a deck of this session; NotFound for anything else."""
    deck = await db.get(SlideDeck, deck_id)
    if deck is None or deck.session_id != session_id:
        raise NotFound("no such slide deck in this lesson")
    rendition = SIZES.get(size)
    if rendition is None:
        raise NotFound(f"no size {size[:20]!r}: use one of {', '.join(sorted(SIZES))}")
    if not 1 <= page <= deck.pages:
        raise NotFound(f"the deck has pages 1 to {deck.pages}")
    if page > deck.rendered:
        raise NotFound("this page is not ready yet")
    path = page_path(deck_dir(data_dir, session_id, deck_id), page, rendition)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise NotFound("this page's image is missing") from None
    etag = f'"s{session_id}-d{deck_id}-p{page}-{size}-{stat.st_size}-{stat.st_mtime_ns}"'
    return PageFile(path, MEDIA_TYPES[rendition.ext], etag)
