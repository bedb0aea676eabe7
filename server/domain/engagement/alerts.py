"""When a site's alert level becomes a notification: windows, the global cap, snooze, acknowledge.

Per (site, kind) slot:
- an alert fires when the kind is at ``alert`` level and the slot is *armed*; firing disarms it,
  and it re-arms only once the level has dropped below ``alert`` (so a lasting condition is one
  alert, not a stream);
- at most one alert per slot per ``alert_window_s``;
- a snoozed slot does not fire until the snooze ends (then it fires if still at alert level);
- acknowledging disarms the slot until the condition clears;
- across all sites, at most ``max_alerts_per_minute`` in any 60 s; a slot held back by the cap,
  the window or a snooze stays pending and fires on a later tick if still due (never lost,
  never doubled).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from server.domain.engagement.settings import EngagementSettings
from server.domain.engagement.states import AlertKind

SlotKey = tuple[int | None, AlertKind]


@dataclass(slots=True)
class AlertSlot:
    armed: bool = True
    last_at: float | None = None
    snoozed_until: float | None = None
    held: bool = False


class AlertPolicy:
    """Decides which site-level alert conditions notify, and records the decisions."""

    def __init__(self, settings: EngagementSettings) -> None:
        self.settings = settings
        self._slots: dict[SlotKey, AlertSlot] = {}
        self._recent: deque[float] = deque()
        self._next_id = 1
        self.fired_by_id: dict[int, SlotKey] = {}
        self.held_by_cap = 0
        self.held_by_window = 0

    def slot(self, key: SlotKey) -> AlertSlot:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = AlertSlot()
        return slot

    def consider(self, key: SlotKey, at_alert: bool, now: float) -> int | None:
        """Return a new alert id when the slot should notify now, else None."""
        slot = self._slots.get(key)
        if not at_alert:
            if slot is not None:
                slot.armed, slot.held = True, False
            return None
        if slot is None:
            slot = self.slot(key)
        if not slot.armed:
            return None
        if slot.snoozed_until is not None:
            if now < slot.snoozed_until:
                slot.held = True
                return None
            slot.snoozed_until = None
        s = self.settings
        if slot.last_at is not None and now - slot.last_at < s.alert_window_s:
            if not slot.held:
                self.held_by_window += 1
            slot.held = True
            return None
        recent = self._recent
        while recent and recent[0] <= now - 60.0:
            recent.popleft()
        if len(recent) >= s.max_alerts_per_minute:
            if not slot.held:
                self.held_by_cap += 1
            slot.held = True
            return None
        recent.append(now)
        slot.armed, slot.held, slot.last_at = False, False, now
        alert_id = self._next_id
        self._next_id += 1
        self.fired_by_id[alert_id] = key
        return alert_id

    def pending(self) -> list[SlotKey]:
        """Slots held back (window, cap or snooze) that a tick should reconsider."""
        return [key for key, slot in self._slots.items() if slot.held]

    def acknowledge(self, key: SlotKey, at_alert: bool) -> None:
        """Silence the slot until its condition clears (no effect on a slot below alert)."""
        if at_alert:
            slot = self.slot(key)
            slot.armed, slot.held = False, False

    def snooze(self, key: SlotKey, until: float) -> None:
        """Hold the slot until ``until`` (``until`` in the past cancels the snooze)."""
        self.slot(key).snoozed_until = until

    def snoozed_until(self, key: SlotKey, now: float) -> float | None:
        slot = self._slots.get(key)
        if slot is None or slot.snoozed_until is None or slot.snoozed_until <= now:
            return None
        return slot.snoozed_until
