"""Slide decks over HTTP: upload, checks in words, rendering, cached page images, scope."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from server.app import create_app
from server.db.models import LiveSession
from server.domain.live import SessionStatus
from server.services import slides
from server.settings import Settings
from tests.api.slide_pdfs import (
    blank_pdf,
    deck_pdf,
    encrypted_pdf,
    huge_page_count_pdf,
    javascript_pdf,
)
from tests.api.world import World, build_world


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    limited = settings.model_copy(update={"slides_max_pages": 20, "slides_max_bytes": 200_000})
    app = create_app(limited)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield await build_world(app, client)
    await app.state.services.engine.dispose()


def upload(data: bytes, name: str = "Week 3.pdf") -> dict[str, Any]:
    return {"files": {"file": (name, io.BytesIO(data), "application/pdf")}}


async def post(world: World, data: bytes, actor: str = "teacher") -> httpx.Response:
    url = f"/api/sessions/{world.ids['session']}/slides"
    return await world.call(actor, "POST", url, **upload(data))


def refusal(resp: httpx.Response) -> str:
    assert resp.status_code == 422, resp.text
    message: str = resp.json()["error"]["message"]
    return message


async def test_a_pdf_is_drawn_in_two_sizes_and_served_cached(world: World) -> None:
    resp = await post(world, deck_pdf(3))
    assert resp.status_code == 202, resp.text
    deck = resp.json()
    assert (deck["title"], deck["pages"], deck["status"]) == ("Week 3", 3, "rendering")
    await slides.wait_rendered(deck["deck_id"])
    sid = world.ids["session"]
    listed = (await world.call("student", "GET", f"/api/sessions/{sid}/slides")).json()
    assert [(d["deck_id"], d["status"], d["rendered"]) for d in listed] == [
        (deck["deck_id"], "ready", 3)
    ]
    base = f"/api/sessions/{sid}/slides/{deck['deck_id']}/pages"
    assert listed[0]["page_url"] == base + "/{page}/{size}"
    widths = {}
    for size in ("full", "small"):
        page = await world.call("joined", "GET", f"{base}/2/{size}")
        assert page.status_code == 200
        assert page.headers["content-type"] == "image/webp"
        assert "immutable" in page.headers["cache-control"]
        widths[size] = Image.open(io.BytesIO(page.content)).size[0]
        headers = {**world.headers("joined"), "If-None-Match": page.headers["etag"]}
        again = await world.client.get(f"{base}/2/{size}", headers=headers)
        assert again.status_code == 304 and again.content == b""
    assert widths == {"full": 1280, "small": 800}
    for bad in ("4/small", "0/small", "1/huge", "99999999999/full"):
        missing = await world.call("student", "GET", f"{base}/{bad}")
        assert missing.status_code in (404, 422), bad
        body = missing.json()
        assert "error" in body or "detail" in body  # 422: FastAPI validation details


async def test_a_script_in_the_pdf_is_drawn_not_run(world: World) -> None:
    resp = await post(world, javascript_pdf())
    assert resp.status_code == 202, resp.text
    await slides.wait_rendered(resp.json()["deck_id"])
    listed = await world.call("teacher", "GET", f"/api/sessions/{world.ids['session']}/slides")
    assert listed.json()[0]["status"] == "ready"


async def test_hostile_and_broken_files_are_refused_in_words(world: World) -> None:
    assert "not a PDF" in refusal(await post(world, b"hello, world"))
    assert "could not be read" in refusal(await post(world, b"%PDF-1.7\n1 0 obj garbage"))
    assert "could not be read" in refusal(await post(world, deck_pdf(2)[:500]))
    assert "password" in refusal(await post(world, encrypted_pdf()))
    assert "empty" in refusal(await post(world, b""))
    # a PDF bomb: a page tree claiming 20,000 pages; a page of 20,000 x 20,000 points
    assert "20000 pages; at most 20" in refusal(await post(world, huge_page_count_pdf(20_000)))
    assert "at most 20" in refusal(await post(world, blank_pdf(21)))
    assert "larger than 200 inches" in refusal(await post(world, blank_pdf(1, 20_000, 20_000)))
    over = b"%PDF-1.4\n" + b"0" * 200_001
    assert "larger than 0.2 MB" in refusal(await post(world, over))
    way_over = await post(world, b"%PDF-1.4\n" + b"0" * 400_000)  # past the body limit
    assert way_over.status_code == 413
    sid = world.ids["session"]
    assert (await world.call("teacher", "GET", f"/api/sessions/{sid}/slides")).json() == []


async def test_only_the_courses_teacher_uploads_and_not_after_the_lesson(world: World) -> None:
    for actor, code in (("fac", 403), ("student", 403), ("teacher2", 404), ("anon", 401)):
        assert (await post(world, blank_pdf(1), actor)).status_code == code
    svc = world.app.state.services
    async with svc.sessions() as db:
        live = await db.get(LiveSession, world.ids["session"])
        assert live is not None
        live.status = SessionStatus.ENDED
        db.add(live)
        await db.commit()
    ended = await post(world, blank_pdf(1))
    assert ended.status_code == 409 and "ended" in ended.json()["error"]["message"]


async def test_pages_are_private_to_the_lesson(world: World) -> None:
    resp = await post(world, blank_pdf(1))
    deck_id = resp.json()["deck_id"]
    await slides.wait_rendered(deck_id)
    sid = world.ids["session"]
    url = f"/api/sessions/{sid}/slides/{deck_id}/pages/1/small"
    assert (await world.call("student", "GET", url)).status_code == 200
    assert (await world.call("student2", "GET", url)).status_code == 404
    assert (await world.call("anon", "GET", url)).status_code == 401
    async with world.app.state.services.sessions() as db:
        other = LiveSession(course_id=world.ids["course"], title="Other")
        db.add(other)
        await db.commit()
        other_id = other.id
    wrong = f"/api/sessions/{other_id}/slides/{deck_id}/pages/1/small"
    assert (await world.call("teacher", "GET", wrong)).status_code == 404
