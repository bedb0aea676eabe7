"""The services an app is built with, once: settings, database, token signer, clock.

Shared by the HTTP routes (``server.api.deps``) and the live-session machinery
(``server.realtime``), so neither has to import the other for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from server.auth.tokens import TokenSigner
from server.domain.signin_throttle import SigninThrottle
from server.settings import Settings


@dataclass
class Services:
    """Everything a request handler may need, built once per app."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    signer: TokenSigner
    signin_throttle: SigninThrottle
    # The wall clock of lesson times (REST start/end, the live sessions' writers): one place
    # for tests to put a clock they move.
    clock: Callable[[], float] = field(default=time.time)
