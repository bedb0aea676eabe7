"""ICE servers for WebRTC peers: the configured STUN/TURN list (``HYFLEX_ICE_SERVERS``) plus,
when ``HYFLEX_TURN_URLS`` and ``HYFLEX_TURN_SECRET`` are set, short-lived TURN credentials in
the TURN REST API scheme that coturn checks with ``use-auth-secret``:

    username   = "<expiry unix time>:<who>"
    credential = base64(HMAC-SHA1(secret, username))

The secret never leaves the server; a browser gets credentials that stop working after
``HYFLEX_TURN_TTL_SECONDS`` (coturn refuses them with 401 once the time in the name is past).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from server.settings import Settings

# The relay's own peers (server side) are named this in the TURN username.
SERVER_PEER = "hyflex-relay"
# Browsers fetch fresh credentials this long before the old ones expire.
REFRESH_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class TurnCredential:
    username: str
    credential: str
    expires_at: int


def turn_credential(secret: str, who: str, now: float, ttl_seconds: int) -> TurnCredential:
    """Credentials for ``who`` valid until ``now + ttl_seconds`` (the TURN REST API scheme)."""
    if ":" in who:
        raise ValueError("the TURN user part must not contain ':'")
    expires_at = int(now) + ttl_seconds
    username = f"{expires_at}:{who}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode(), expires_at)


def turn_configured(settings: Settings) -> bool:
    return bool(settings.turn_urls and settings.turn_secret.get_secret_value())


def ice_servers_for(
    settings: Settings, who: str, now: float, *, browser: bool = True
) -> tuple[list[dict[str, Any]], int]:
    """The ICE servers for one peer (a browser's participant, or the relay) and when they stop
    working (unix time; far in the future without TURN). A browser never gets an entry of
    ``HYFLEX_ICE_SERVERS`` with a static password: those stay with the relay."""
    servers = [
        dict(entry)
        for entry in settings.ice_servers
        if not (browser and ("credential" in entry or "username" in entry))
    ]
    if not turn_configured(settings):
        return servers, int(now) + 365 * 24 * 3600
    cred = turn_credential(
        settings.turn_secret.get_secret_value(), who, now, settings.turn_ttl_seconds
    )
    servers.append(
        {"urls": list(settings.turn_urls), "username": cred.username, "credential": cred.credential}
    )
    return servers, cred.expires_at
