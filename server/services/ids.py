"""Record ids as the API accepts them: positive and within a signed 64-bit integer (SQLite's
INTEGER and PostgreSQL's BIGINT), so an out-of-range id is a 422, never a database overflow."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path
from pydantic import Field

MAX_ID: Final = 2**63 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An id in a request body."""

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""An id in a URL path."""
