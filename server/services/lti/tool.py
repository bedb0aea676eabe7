"""The LTI tool's long-lived parts, built once per app (``app.state.lti``): one HTTP client
for the LMS calls, the platforms' key cache, service tokens, browser state and the grade
worker; and the hook that kicks grades after a lesson ends or a catch-up answer is stored."""

from __future__ import annotations

from typing import Any

import httpx

from server.services.lti.browser_state import BrowserState
from server.services.lti.grades import GradeSync
from server.services.lti.platform_keys import PlatformKeys
from server.services.lti.service_token import ServiceTokens
from server.services.registry import Services

GRADE_EVENTS = frozenset({"session.ended", "question.answered"})


class LtiTool:
    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        self.http = httpx.AsyncClient(timeout=settings.lti_timeout_seconds)
        self.keys = PlatformKeys(self.http)
        self.tokens = ServiceTokens(self.http)
        self.state = BrowserState(settings.resolve_secret())
        self.grades = GradeSync(services.sessions, settings, self.http, self.tokens)

    def observe(self, runtime: Any, item: Any) -> None:
        """A stored event (seen through :class:`GradeKicker`): kick grades after the lesson's
        end and after each catch-up answer."""
        event = item.event
        if event.type not in GRADE_EVENTS:
            return
        if event.type == "question.answered" and not event.data.get("catch_up"):
            return
        self.grades.kick(runtime.session_id)

    async def close(self) -> None:
        await self.grades.close()
        await self.http.aclose()


class GradeKicker:
    """The LTI tool as a session extension (``server/realtime/core/extension.py``): it has no
    message family and no periodic work; it only watches the session's stored events. Typed
    loosely so that services do not import the realtime layer."""

    name = "lti-grades"
    families: tuple[str, ...] = ()

    def __init__(self, tool: LtiTool, runtime: Any) -> None:
        self.tool = tool
        self.runtime = runtime

    async def load(self) -> None:
        return None

    def on_event(self, logged: Any) -> None:
        self.tool.observe(self.runtime, logged)

    async def handle(self, ctx: Any, message: Any) -> None:
        return None

    async def tick(self, now: float) -> float | None:
        return None

    async def close(self) -> None:
        return None


def install_lti(app: Any, services: Services, realtime: Any) -> LtiTool:
    tool = LtiTool(services)
    app.state.lti = tool

    async def grades_of(runtime: Any) -> GradeKicker | None:
        if getattr(runtime, "is_replica", False):
            return None  # only the session's writer kicks grades
        return GradeKicker(tool, runtime)

    realtime.extension_factories.append(grades_of)
    app.state.startup_hooks.append(tool.grades.start)
    app.state.shutdown_hooks.append(tool.close)
    return tool
