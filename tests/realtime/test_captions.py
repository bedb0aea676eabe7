"""Captions over real websockets: the teacher grants a student the captioner role, their
captions reach everyone, a late joiner gets the recent ones, others are refused with clear
errors, and the WebVTT downloads for the people of the session only."""

from __future__ import annotations

import httpx

from server.domain.roles import Role
from tests.realtime.conftest import Class


async def test_captioner_types_everyone_sees_and_the_webvtt_downloads(klass: Class) -> None:
    teacher = await klass.teacher()
    captioner = await klass.student(0)
    viewer = await klass.student(9)
    refused = await captioner.call("caption.add", {"text": "not yet"})
    assert refused["code"] == "not_permitted" and "captioner" in refused["message"]
    await teacher.ok("caption.grant", {"user_id": klass.demo.students[0].id})
    await captioner.wait_for(lambda f: f.get("type") == "caption.granted")
    await captioner.ok("caption.add", {"text": "Today: Newton's laws"})
    await captioner.ok("caption.add", {"text": "<script>alert(1)</script> & more"})
    for client in (teacher, viewer):
        seen = await client.wait_for(lambda f: f.get("type") == "caption.added")
        assert seen["data"]["text"] == "Today: Newton's laws"
    bad = await captioner.call("caption.add", {"text": "x", "position": -5})
    assert bad["code"] == "bad_input"
    other = await viewer.call("caption.grant", {"user_id": klass.demo.students[9].id})
    assert other["code"] == "not_permitted"
    late = await klass.student(2)
    recent = [c["text"] for c in late.welcome["snapshot"]["captions"]["recent"]]
    assert recent == ["Today: Newton's laws", "<script>alert(1)</script> & more"]

    url = f"/api/sessions/{klass.session_id}/captions.vtt"
    student = {
        "Authorization": f"Bearer {klass.token(klass.demo.students[9].id or 0, Role.STUDENT)}"
    }
    async with httpx.AsyncClient(base_url=klass.server.base, timeout=10) as http:
        got = await http.get(url, headers=student)
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/vtt")
        body = got.text
        assert body.startswith("WEBVTT")
        assert "Today: Newton's laws" in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in body
        assert (await http.get(url)).status_code == 401
