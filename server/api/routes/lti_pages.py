"""The HTML the LTI routes answer with (server-rendered, escaped, under the pages' strict
Content-Security-Policy): a refused launch in plain words, the instructor's lesson picker
(Deep Linking) and the form that carries the signed response back to the LMS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Final
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse

from server.api.routes.web import SECURITY_HEADERS

HEAD: Final = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>{title} · HyFlex Live</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/css/app.css">{script}
</head>
<body>
  <header class="topbar"><span class="brand">HyFlex Live</span></header>
  <main class="narrow">
"""
TAIL: Final = """  </main>
</body>
</html>
"""


def _page(title: str, body: str, *, status: int = 200, script: str = "",
          form_action: str = "") -> HTMLResponse:  # fmt: skip
    headers = dict(SECURITY_HEADERS)
    if form_action:
        headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace(
            "form-action 'self'", f"form-action 'self' {form_action}"
        )
    tag = f'\n  <script type="module" src="{escape(script)}"></script>' if script else ""
    html = HEAD.format(title=escape(title), script=tag) + body + TAIL
    return HTMLResponse(html, status_code=status, headers=headers)


def refused(message: str, status: int = 400) -> HTMLResponse:
    """A launch that signed nobody in: what went wrong, and what to do."""
    body = (
        '    <section class="card" role="alert">\n'
        "      <h1>This LMS link did not open</h1>\n"
        f'      <p id="lti-reason">{escape(message[:300])}.</p>\n'
        '      <p class="muted">Go back to your course in the LMS and open the link again. If it '
        "keeps failing, tell your teacher or your school's administrator what this page says."
        "</p>\n"
        "    </section>\n"
    )
    return _page("LMS link refused", body, status=status)


@dataclass(frozen=True, slots=True)
class Choice:
    lesson_id: int
    course: str
    title: str
    when: str
    ended: bool


def picker(picker_token: str, choices: Sequence[Choice]) -> HTMLResponse:
    """The instructor picks a lesson (live or, once ended, its catch-up) to place in the LMS."""
    rows = []
    for i, c in enumerate(choices):
        kind = "catch-up (recording)" if c.ended else "live lesson"
        checked = " checked" if i == 0 else ""
        rows.append(
            f'      <p><label><input type="radio" name="lesson_id" value="{c.lesson_id}"'
            f"{checked}> {escape(c.course)}: {escape(c.title)} "
            f'<span class="muted">({escape(c.when)}, {kind})</span></label></p>\n'
        )
    if not rows:
        rows.append(
            '      <p id="lti-none">You have no lessons here yet: schedule one under Courses and '
            "lessons, then place it from the LMS again.</p>\n"
        )
    body = (
        '    <section class="card">\n'
        "      <h1>Place a lesson in your LMS course</h1>\n"
        '      <form method="post" action="/lti/deep-link">\n'
        f'      <input type="hidden" name="picker" value="{escape(picker_token)}">\n'
        + "".join(rows)
        + ('      <p><button class="btn btn-primary" type="submit">Place this lesson</button></p>\n'
           if choices else "")
        + "      </form>\n    </section>\n"
    )  # fmt: skip
    return _page("Place a lesson", body)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def return_to_lms(return_url: str, jwt: str) -> HTMLResponse:
    """The signed LtiDeepLinkingResponse, posted to the LMS by a form that submits itself."""
    body = (
        '    <section class="card">\n'
        "      <h1>Returning to your LMS…</h1>\n"
        f'      <form id="lti-return" method="post" action="{escape(return_url)}">\n'
        f'        <input type="hidden" name="JWT" value="{escape(jwt)}">\n'
        '        <p><button class="btn btn-primary" type="submit">Continue</button></p>\n'
        "      </form>\n    </section>\n"
    )
    return _page(
        "Returning to your LMS",
        body,
        script="/static/js/lti_return.js",
        form_action=origin(return_url),
    )
