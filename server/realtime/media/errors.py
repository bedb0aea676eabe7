"""What a person is told when a media request fails.

The policy's refusals (``not_permitted``) and the problems of a malformed request
(``bad_input``) are already written for whoever sent them. The relay's own states are not
(``no subscribe connection for user-12``, ``room is full``): they become the sentences below,
with the same error code, so a page can still tell a closed leg from a refusal.
"""

from __future__ import annotations

from typing import Final

from server.domain.errors import Conflict, DomainError, InvalidState, NotFound

LEG_GONE: Final = "Your live video connection has closed. It is set up again automatically."
BUSY: Final = "Live video cannot take anyone else right now. Try again in a minute."
FAILED: Final = "Live video had a problem on the server. It is set up again automatically."
STOPPED: Final = "Live video has stopped for this lesson."
ENDED: Final = "The lesson has ended, so live video has stopped."
UNAVAILABLE: Final = "Live video is not available on this server."


def for_people(exc: DomainError) -> DomainError:
    """``exc`` as a person may read it."""
    if isinstance(exc, NotFound):
        return NotFound(LEG_GONE)
    if isinstance(exc, Conflict):
        return Conflict(BUSY)
    if isinstance(exc, InvalidState) and exc.message not in (STOPPED, ENDED, UNAVAILABLE):
        return InvalidState(FAILED)
    return exc
