"""The interactive API docs (``/docs``), served without the internet: Swagger UI's JavaScript and
CSS come from the pinned ``swagger-ui-bundle-v2`` package under ``/docs-assets/`` (FastAPI's
"self-hosting JavaScript and CSS for docs" recipe), not from a CDN. The page gets a strict
Content-Security-Policy of its own: scripts from this server plus, by its hash, the small inline
script FastAPI writes to start Swagger UI."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS: Final = "/docs-assets"
_INLINE_SCRIPT: Final = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _policy(html: str) -> str:
    digests = (hashlib.sha256(s.encode()).digest() for s in _INLINE_SCRIPT.findall(html))
    hashes = " ".join(f"'sha256-{base64.b64encode(d).decode()}'" for d in digests)
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )


def install_docs(app: FastAPI) -> None:
    """``/docs`` and its assets; the app must be built with ``docs_url=None, redoc_url=None``
    (ReDoc is not offered: it would need a second bundle). Sign-in is a bearer token (the
    Authorize button), so there is no OAuth2 redirect page."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
        )
        page.headers["Content-Security-Policy"] = _policy(bytes(page.body).decode())
        return page
