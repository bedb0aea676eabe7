"""Errors on page addresses, as people see them: a browser asking for a page (``Accept:
text/html``, a path outside ``/api/``) that does not exist, or whose id is not a number, gets a
small HTML page with a plain sentence and a link home, served with the pages' strict
Content-Security-Policy. API clients keep the JSON bodies (FastAPI's for validation errors)."""

from __future__ import annotations

from html import escape
from typing import Final

from fastapi import Request
from fastapi.responses import HTMLResponse

from server.api.routes.web import SECURITY_HEADERS

API_PREFIXES: Final = ("/api/", "/openapi.json", "/healthz")
MESSAGES: Final = {
    404: ("Page not found", "There is no page at this address. Check the link you followed."),
    405: ("Page not found", "There is no page at this address. Check the link you followed."),
    403: ("Not allowed", "You may not open this page."),
}
FALLBACK: Final = ("Page not available", "This page cannot be shown right now. Try again later.")

PAGE: Final = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · HyFlex Live</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/css/app.css">
</head>
<body>
  <main class="narrow">
    <section class="card" role="alert">
      <h1>{title}</h1>
      <p>{message}</p>
      <p><a class="btn btn-primary" href="/">Go to the home page</a></p>
    </section>
  </main>
</body>
</html>
"""


def wants_page(request: Request) -> bool:
    """A browser asking for a page (not an API client, not an asset)."""
    path = request.url.path
    if path.startswith(API_PREFIXES) or path.startswith("/static/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(status: int) -> HTMLResponse:
    """The HTML answer for a page request that failed with ``status``; a malformed id in a page
    address (422) is a page that does not exist (404)."""
    status = 404 if status == 422 else status
    title, message = MESSAGES.get(status, FALLBACK)
    body = PAGE.format(title=escape(title), message=escape(message))
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
