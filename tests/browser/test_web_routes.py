"""The web client's routes and its agreement with the server's protocol schema (no browser)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from server.domain.live.event_types import EVENT_TYPES
from server.realtime.core import protocol

CLIENT = Path(__file__).resolve().parents[2] / "client_web"
SENT = re.compile(r"""\bsend\(\s*["']([a-z_]+\.[a-z_.]+)["']""")
TERNARY = re.compile(r"""\?\s*["']([a-z_]+\.[a-z_]+)["']\s*:\s*["']([a-z_]+\.[a-z_]+)["']""")


def _js() -> str:
    return "\n".join(p.read_text() for p in sorted(CLIENT.rglob("*.js")))


async def test_protocol_schema_lists_the_servers_names(
    app_and_client: tuple[object, httpx.AsyncClient],
) -> None:
    _, client = app_and_client
    reply = await client.get("/api/protocol")
    assert reply.status_code == 200
    schema = reply.json()
    assert schema["version"] == protocol.PROTOCOL_VERSION
    assert sorted(schema["commands"]) == sorted(protocol.COMMANDS)
    assert schema["commands"]["poll.answer"] == ["poll_id", "answer"]
    assert set(schema["events"]) == set(EVENT_TYPES)
    assert schema["close_codes"]["too_slow"] == 4408
    assert "thumbs_up" in schema["reactions"]


async def test_every_command_and_event_named_in_the_client_exists_on_the_server(
    app_and_client: tuple[object, httpx.AsyncClient],
) -> None:
    _, client = app_and_client
    schema = (await client.get("/api/protocol")).json()  # families registered at start-up
    source = _js()
    sent = set(SENT.findall(source))
    for pair in TERNARY.findall(source):
        sent.update(pair)
    assert {"poll.answer", "qna.ask", "hand.raise", "stage.bring"} <= sent
    unknown = {
        name
        for name in sent
        if name not in protocol.COMMANDS and name.split(".", 1)[0] not in schema["extra"]
    }
    assert unknown == set()
    # the state's handlers: live_state.js's own, plus the tables it spreads in (chat, captions)
    state = (CLIENT / "js" / "live_state.js").read_text()
    for table, module in re.findall(r'import \{ (\w+_APPLY)[^}]*\} from "\./(\w+\.js)"', state):
        assert f"...{table}," in state, table
        state += (CLIENT / "js" / module).read_text()
    applied = set(re.findall(r'^\s*"([a-z]+\.[a-z_]+)": ', state, re.MULTILINE))
    assert applied == set(EVENT_TYPES), applied ^ set(EVENT_TYPES)


PAGES = (
    "/",
    "/join",
    "/teacher/1",
    "/facilitator/1",
    "/student/1",
    "/catchup/1",
    "/report/1",
    "/admin",
    "/courses",
    "/course-report/1",
    "/admin/lti",
    "/lti/enter",
)


def test_client_never_parses_data_as_html() -> None:
    source = _js() + "".join(p.read_text() for p in CLIENT.glob("*.html"))
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert risky not in source, risky


async def test_pages_and_assets_are_served_with_a_strict_policy(
    app_and_client: tuple[object, httpx.AsyncClient],
) -> None:
    _, client = app_and_client
    for path in PAGES:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert '<script type="module"' in page.text
    script = await client.get("/static/js/protocol.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"


async def test_static_files_stay_inside_the_client_directory(
    app_and_client: tuple[object, httpx.AsyncClient],
) -> None:
    _, client = app_and_client
    for path in (
        "/static/../server/settings.py",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2f..%2fpyproject.toml",
        "/static/js/missing.js",
        "/static/js",
        "/teacher/not-a-number",
    ):
        reply = await client.get(path)
        assert reply.status_code in (404, 422), (path, reply.status_code)
        assert "hyflex" not in reply.text.lower() or reply.status_code == 404


ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


async def test_every_page_has_a_favicon_and_favicon_ico_is_served(
    app_and_client: tuple[object, httpx.AsyncClient],
) -> None:
    _, client = app_and_client
    for path in PAGES:
        page = await client.get(path)
        assert '<link rel="icon" href="/static/favicon.svg"' in page.text, path
    svg = await client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    ico = await client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon"
    assert ico.content[:4] == b"\x00\x00\x01\x00"  # an ICO file


async def test_api_docs_use_only_assets_served_here(
    app_and_client: tuple[object, httpx.AsyncClient],
) -> None:
    _, client = app_and_client
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assets = ASSET.findall(docs.text)
    assert len(assets) >= 3, assets  # the script, the stylesheet, the icon
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), url  # same origin
        reply = await client.get(url)
        assert reply.status_code == 200, url
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy and "unsafe-eval" not in policy
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/redoc")).status_code == 404  # not offered: no CDN behind it


BAD_PAGES = (
    "/report/abc",
    "/teacher/abc",
    "/student/abc",
    "/facilitator/abc",
    "/catchup/abc",
    "/teacher/0",
    "/report/99999999999999999999",
    "/nonexistent",
)
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def test_a_bad_page_address_shows_a_plain_page_with_a_way_home(
    app_and_client: tuple[object, httpx.AsyncClient],
) -> None:
    _, client = app_and_client
    for path in BAD_PAGES:
        reply = await client.get(path, headers=BROWSER)
        assert reply.status_code == 404, (path, reply.status_code)
        assert reply.headers["content-type"].startswith("text/html"), path
        assert "script-src 'self'" in reply.headers["content-security-policy"]
        assert "Page not found" in reply.text and 'href="/"' in reply.text, path
        for internal in ("detail", "int_parsing", "{", "Traceback"):
            assert internal not in reply.text, (path, internal)
    # API clients keep JSON: FastAPI's validation body, and the API's own errors
    bad_body = await client.post("/api/auth/login", json={"email": 5}, headers=BROWSER)
    assert bad_body.status_code == 422 and bad_body.json()["detail"][0]["loc"][0] == "body"
    missing = await client.get("/api/nothing-here", headers=BROWSER)
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    asset = await client.get("/static/js/missing.js", headers=BROWSER)
    assert asset.status_code == 404 and asset.json()["error"]["code"] == "not_found"
