"""The domain's exception family, mapped to HTTP codes and error events in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Root of every error the domain raises on purpose."""

    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotPermitted(DomainError):
    """The actor's role or scope does not allow the action."""

    code = "not_permitted"


class InvalidState(DomainError):
    """The action does not fit the current state (a closed poll, an ended session)."""

    code = "invalid_state"


class NotFound(DomainError):
    """The thing named does not exist, or the actor may not know it exists."""

    code = "not_found"


class BadInput(DomainError):
    """The input is malformed, out of range or too large."""

    code = "bad_input"


class RateLimited(BadInput):
    """Too many messages or signals; this one was dropped and nothing changed."""

    code = "rate_limited"


class Conflict(DomainError):
    """The input clashes with what exists (a duplicate name)."""

    code = "conflict"
