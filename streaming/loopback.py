"""Keep ICE on the loopback interface (tests, benchmarks, single-host demos).

aioice skips 127.0.0.1 when it lists host addresses, and would otherwise offer every
interface of the machine. ``use_loopback_only()`` makes it offer 127.0.0.1 alone.
"""

from __future__ import annotations

from collections.abc import Callable

import aioice.ice

_original: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else ["::1"]


def use_loopback_only() -> None:
    aioice.ice.get_host_addresses = _loopback_addresses


def restore_host_addresses() -> None:
    aioice.ice.get_host_addresses = _original  # type: ignore[assignment]
