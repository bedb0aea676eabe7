"""Operations: ``/healthz`` (the process and its event loop answer), ``/readyz`` (this node
can serve: 503 with the reasons otherwise) and ``/metrics`` (Prometheus).

``/metrics`` is for the monitoring system only: with ``HYFLEX_METRICS_TOKEN`` set it needs
``Authorization: Bearer <token>``; unset, only loopback clients get it (the front proxy in
deploy/nginx/hyflex.conf refuses ``/metrics`` from outside, since it connects from loopback).
"""

from __future__ import annotations

import hmac
import ipaddress
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.api.errors import error_body
from server.observability import metrics
from server.observability.health import readiness
from server.services.registry import Services

router = APIRouter(tags=["ops"])
STARTED = time.time()


@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    """Alive: the process runs and its event loop answers (nothing else is checked)."""
    return {"ok": True, "uptime_seconds": round(time.time() - STARTED, 1)}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    svc: Services = request.app.state.services
    state = await readiness(svc.engine, request.app.state.realtime)
    body = {"ready": state.ready, "checks": state.checks, "reasons": state.reasons}
    return JSONResponse(body, status_code=200 if state.ready else 503)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    svc: Services = request.app.state.services
    token = svc.settings.metrics_token.get_secret_value()
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return JSONResponse(
                error_body("unauthorized", "metrics need HYFLEX_METRICS_TOKEN as a bearer token"),
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    elif not _loopback(request):
        return JSONResponse(
            error_body("not_permitted", "metrics are served to this machine only"),
            status_code=403,
        )
    await metrics.REALTIME.refresh(getattr(request.app.state, "realtime", None))
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
