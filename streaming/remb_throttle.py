"""How often a publisher is sent REMB (its receiver-estimated maximum bitrate): a pure rule.

aiortc's receive-side bandwidth estimator hands out an estimate every 500 ms, and on *every*
packet while it sees the link over-used. Each one becomes an RTCP packet (SRTCP-protected and
sent): in one profile of a bursty publisher, a sixth of the relay's receive-side CPU. As in
libwebrtc's REMB sender, an estimate goes out at once when it is at least 3 % below the last
one sent (the publisher must slow down now); otherwise at most one per ``interval``. A cap the
relay itself lowers (a weak-link mode) is a fall, so it is sent at once too.

Time is passed in; the adapter (``streaming.aiortc_private.hook_remb_cap``) sends or drops.
"""

from __future__ import annotations

from typing import Final

REMB_INTERVAL: Final = 0.2  # seconds between two REMBs that do not lower the estimate
REMB_FALL: Final = 0.97  # a REMB at or below 97 % of the last one sent goes out at once


class RembThrottle:
    """The send-or-drop rule of one publisher leg's REMB."""

    __slots__ = ("_fall", "_interval", "_last_bitrate", "_last_sent_at", "dropped", "sent")

    def __init__(self, interval: float = REMB_INTERVAL, fall: float = REMB_FALL) -> None:
        self._interval = interval
        self._fall = fall
        self._last_sent_at: float | None = None
        self._last_bitrate = 0
        self.sent = 0
        self.dropped = 0

    def allow(self, bitrate: int, now: float) -> bool:
        """Whether a REMB of ``bitrate`` (bits a second) made at ``now`` should be sent."""
        last_at = self._last_sent_at
        if (
            last_at is None
            or now - last_at >= self._interval
            or now < last_at  # a clock that went back: never stay silent
            or bitrate <= self._last_bitrate * self._fall
        ):
            self._last_sent_at = now
            self._last_bitrate = bitrate
            self.sent += 1
            return True
        self.dropped += 1
        return False
