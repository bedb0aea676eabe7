"""One place maps domain errors (and stray database conflicts) to HTTP answers; a browser asking
for a page gets an HTML page instead (``error_pages``)."""

from __future__ import annotations

import math

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from server.api.error_pages import error_page, wants_page
from server.auth.tokens import InvalidToken
from server.domain.errors import (
    BadInput,
    Conflict,
    DomainError,
    InvalidState,
    NotFound,
    NotPermitted,
    RateLimited,
)


class TooManyAttempts(RateLimited):
    """Refused for now: try again after ``retry_after`` seconds (429 with Retry-After)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidToken: 401,
    RateLimited: 429,
    NotPermitted: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidState: 409,
    BadInput: 422,
}


def status_for(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if wants_page(request):
        return error_page(status_for(exc))
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, InvalidToken) else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(error_body(exc.code, exc.message), status_for(exc), headers=headers)


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        error_body("conflict", "that clashes with an existing record (duplicate name or code?)"),
        409,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_page(request):
        return error_page(exc.status_code)
    return await http_exception_handler(request, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 body for API clients; a page address with a malformed id is no page."""
    assert isinstance(exc, RequestValidationError)
    if wants_page(request):
        return error_page(422)
    return await request_validation_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
