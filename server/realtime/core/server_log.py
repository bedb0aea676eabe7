"""Keep client mistakes out of the server's error log.

uvicorn's websocket protocol logs an ERROR with a traceback for every text frame that is not
valid UTF-8 (then closes the connection with 1007, as RFC 6455 requires). That is bad input
from a client, not a server fault, and anyone could flood the log with it: the filter turns it
into one DEBUG line without the traceback (dropped unless the log level is DEBUG).
"""

from __future__ import annotations

import logging
from typing import Final

BAD_UTF8: Final = "Invalid UTF-8 sequence received from client."
UVICORN_LOGGER: Final = "uvicorn.error"


class ClientMistakes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != BAD_UTF8:
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.msg = "websocket text frame was not valid UTF-8: closed with 1007"
        record.exc_info = record.exc_text = None
        return True


def install() -> None:
    """Once per process (idempotent): uvicorn's own logging set-up keeps logger filters."""
    logger = logging.getLogger(UVICORN_LOGGER)
    if not any(isinstance(f, ClientMistakes) for f in logger.filters):
        logger.addFilter(ClientMistakes())
