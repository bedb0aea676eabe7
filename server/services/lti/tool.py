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
        """A stored event (runtime observer): kick grades after the lesson's end and after
        each catch-up answer."""
        event = item.event
        if event.type not in GRADE_EVENTS:
            return
        if event.type == "question.answered" and not event.data.get("catch_up"):
            return
        self.grades.kick(runtime.session_id)

    async def close(self) -> None:
        await self.grades.close()
        await self.http.aclose()


def install_lti(app: Any, services: Services, realtime: Any) -> LtiTool:
    tool = LtiTool(services)
    app.state.lti = tool

    async def attach(runtime: Any) -> None:
        if not getattr(runtime, "is_replica", False):
            runtime.observers.append(tool.observe)

    realtime.runtime_hooks.append(attach)
    app.state.startup_hooks.append(tool.grades.start)
    app.state.shutdown_hooks.append(tool.close)
    return tool
