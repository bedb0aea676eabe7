"""IANA time zones: a field type that accepts only names the zone database knows, and the
conversion of a wall-clock time at a school to UTC."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, StringConstraints


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def check_time_zone(name: str) -> str:
    """The name itself when the zone database knows it (a lookup in the list, never a path)."""
    if name not in _known():
        raise ValueError(
            f"{name!r} is not a time zone name: use an IANA name such as "
            "'Europe/London', 'America/Chicago' or 'UTC'"
        )
    return name


TimeZoneName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(check_time_zone),
]


def to_utc(moment: datetime, zone: str | None) -> datetime:
    """A time with an offset is kept (in UTC); a wall-clock time without one is read in
    ``zone`` (UTC when none is given)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone) if zone else UTC)
    return moment.astimezone(UTC)
