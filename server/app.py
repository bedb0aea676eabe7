"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server.api.body_limit import BodyLimitMiddleware
from server.api.docs import install_docs
from server.api.errors import install_error_handlers
from server.api.routes import (
    auth,
    bank,
    course_reports,
    courses,
    join_sheets,
    lesson_bank,
    lti,
    lti_admin,
    oneroster,
    ops,
    org,
    recordings,
    reports,
    roster,
    sessions,
    slides,
    sso,
    users,
    web,
)
from server.auth.tokens import TokenSigner
from server.db.engine import make_engine, make_sessionmaker
from server.domain.signin_throttle import SigninThrottle
from server.realtime.core import gateway
from server.services.lti.tool import install_lti
from server.services.registry import Services
from server.services.xapi_sync import install_xapi
from server.settings import Settings


def tune_gc() -> None:
    """Thousands of long-lived connections make full garbage collections of the whole heap
    (measured: 0.7-0.9 s pauses at 5,000 clients). Move what start-up built out of the
    collector's sight and collect the young generation less often: p99 broadcast latency at
    5,000 clients went from 918 ms to 246 ms (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.resolved_database_url)
    services = Services(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        signer=TokenSigner(settings.resolve_secret()),
        signin_throttle=SigninThrottle(settings.signin_policy),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for hook in list(app.state.startup_hooks):
            await hook()
        tune_gc()
        try:
            yield
        finally:
            for hook in reversed(list(app.state.shutdown_hooks)):
                await hook()
            await engine.dispose()

    app = FastAPI(
        title="HyFlex Live",
        version="0.1.0",
        summary="Real-time hybrid classroom service for course-sharing consortia of schools",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, from local assets
        redoc_url=None,
    )
    app.state.services = services
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    install_xapi(app, services)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger=((slides.UPLOAD_PATH, settings.slides_max_bytes + slides.MULTIPART_SLACK),),
    )
    install_error_handlers(app)
    for module in (
        ops,
        auth,
        sso,
        org,
        users,
        courses,
        bank,
        sessions,
        lesson_bank,
        join_sheets,
        roster,
        oneroster,
        recordings,
        slides,
        reports,
        course_reports,
        lti,
        lti_admin,
    ):
        app.include_router(module.router)
    realtime = gateway.install(app, services)
    install_lti(app, services, realtime)  # LTI 1.3 tool: grades after lessons (docs/lms.md)
    app.include_router(web.router)
    install_docs(app)

    return app
