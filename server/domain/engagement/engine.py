"""The engagement engine: signals in, typed outputs out. Pure and synchronous; ``now`` passed in.

An explicit "I'm confused" press is reported at once (``ExplicitChanged``, see ``explicit``):
pressed, withdrawn, seen and expired each at the ``now`` of the call that changes it; the
adapter calls ``tick`` at ``next_expiry()`` too. Inferred states and site alerts are smoothed.

Work is incremental: a signal touches one student; a student's state change moves one id
between two sets of one site tally and re-judges that site only. ``tick`` re-evaluates only
students not evaluated within ``tick_resolution_s`` (kept in evaluation order, so it never
scans the whole class) and reconsiders held-back alerts.

The clock may not run backwards: a ``now`` earlier than the latest seen is taken as the latest.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

from server.domain.engagement.alerts import AlertPolicy, SlotKey
from server.domain.engagement.explicit import ConfusedPresses
from server.domain.engagement.intake import Intake
from server.domain.engagement.outputs import (
    Alert,
    AlertHandled,
    ExplicitChanged,
    Output,
    SitePulse,
    StudentStateChanged,
    TimelineEntry,
)
from server.domain.engagement.permissions import authorise, check_staff
from server.domain.engagement.ratelimit import TokenBuckets
from server.domain.engagement.reasons import Reason, summarise
from server.domain.engagement.settings import EngagementSettings
from server.domain.engagement.signals import (
    ActivityChanged,
    Attention,
    ConfusedPressed,
    FacePresence,
    HandChanged,
    MediaStats,
    Signal,
    SiteNeedsHelp,
    check_site,
    check_user,
)
from server.domain.engagement.site import Judgement, SiteTally
from server.domain.engagement.states import (
    STATE_WORDS,
    AlertKind,
    Level,
    StudentState,
    parse_kind,
)
from server.domain.engagement.student import StudentSnapshot, StudentTracker
from server.domain.errors import BadInput, NotFound
from server.domain.roles import Actor


class EngagementEngine:
    """Fuses behavioural signals of one live session into student states, site pulses, alerts."""

    def __init__(self, settings: EngagementSettings, sites: Mapping[int | None, str]) -> None:
        self.settings = settings
        self._tallies: dict[int | None, SiteTally] = {}
        for site_id, name in sites.items():
            check_site(site_id)
            if not isinstance(name, str) or not 0 < len(name) <= 100:
                raise BadInput("a site name must be 1 to 100 characters")
            self._tallies[site_id] = SiteTally(site_id, name)
        if None not in self._tallies:
            self._tallies[None] = SiteTally(None, "Remote")
        self._students: dict[int, StudentTracker] = {}
        self._student_sites: dict[int, int | None] = {}
        self._order: dict[int, None] = {}  # student ids, least recently evaluated first
        self._answers = Intake(settings)
        self._activity_since: float | None = None
        self._now = -math.inf
        self._alerts = AlertPolicy(settings)
        self._open: dict[SlotKey, Alert] = {}  # fired, not acknowledged, still at alert level
        self._telemetry = TokenBuckets(
            settings.telemetry_rate_per_s, settings.telemetry_burst, "telemetry"
        )
        self._explicit = TokenBuckets(
            settings.explicit_rate_per_s, settings.explicit_burst, "explicit signal"
        )
        self._presses = ConfusedPresses(settings.confused_expiry_s)
        self.signals_accepted = 0

    # --- roster ----------------------------------------------------------------------------

    def register_student(self, user_id: int, site_id: int | None, now: float | None = None) -> None:
        """Add a student (state unknown until a signal arrives); re-registering moves sites."""
        check_user(user_id)
        tally = self._tally(site_id)
        at = self._now if now is None else self._clock(now)
        at = 0.0 if at == -math.inf else at
        tracker = self._students.get(user_id)
        if tracker is not None:
            if tracker.site_id == site_id:
                return
            self._tallies[tracker.site_id].remove(user_id, tracker.state)
            tracker.site_id = site_id
            tally.add(user_id, tracker.state)
        else:
            tracker = StudentTracker(user_id, site_id, at)
            self._students[user_id] = tracker
            self._order[user_id] = None
            tally.add(user_id, tracker.state)
        self._student_sites[user_id] = site_id

    def unregister_student(self, user_id: int) -> None:
        tracker = self._student(user_id)
        self._tallies[tracker.site_id].remove(user_id, tracker.state)
        del self._students[user_id], self._student_sites[user_id], self._order[user_id]
        self._answers.forget(user_id)
        self._telemetry.forget(user_id)
        self._explicit.forget(user_id)
        self._presses.forget(user_id)

    # --- signals ---------------------------------------------------------------------------

    def ingest(self, signal: Signal, now: float, actor: Actor | None) -> list[Output]:
        """Apply one signal from ``actor`` (None: the server itself); return what it caused.

        Raises BadInput (RateLimited for floods), NotPermitted or NotFound; a rejected signal
        changes nothing.
        """
        now = self._clock(now)
        s = self.settings
        authorise(signal, actor, self._student_sites, s)
        if isinstance(signal, Attention | FacePresence) or (
            isinstance(signal, MediaStats) and signal.source == "client"
        ):
            self._telemetry.take(signal.user_id, now)
        elif isinstance(signal, ConfusedPressed | HandChanged | SiteNeedsHelp) and actor:
            self._explicit.take(actor.user_id, now)
        self.signals_accepted += 1
        out: list[Output] = []
        self._expire(now, out)
        if isinstance(signal, SiteNeedsHelp):
            self._set_help(signal, actor, now, out)
            return out
        if isinstance(signal, ActivityChanged):
            self._activity_since = now if signal.active else None
            return out
        tracker = self._students[signal.user_id]
        tracker.advance(now, s)
        if self._answers.apply(tracker, signal, now):
            tracker.last_signal_at = now
        if isinstance(signal, ConfusedPressed):
            by = actor.user_id if actor else None
            if signal.active:
                changed = self._presses.press(tracker, by, now)
            else:
                changed = self._presses.clear(tracker, "withdrawn", by, now)
            _record_press(changed, out)
        self._evaluate(tracker, now, out)
        return out

    # --- time ------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Output]:
        """Time-driven changes: expiries, sustained/dwell transitions, held-back alerts."""
        now = self._clock(now)
        out: list[Output] = []
        self._expire(now, out)
        cutoff = now - self.settings.tick_resolution_s
        due: list[StudentTracker] = []
        students = self._students
        for user_id in self._order:
            tracker = students[user_id]
            if tracker.evaluated_at > cutoff:
                break
            due.append(tracker)
        for tracker in due:
            self._evaluate(tracker, now, out)
        for tally in self._tallies.values():
            if tally.help_at is not None and not tally.help_active(now, self.settings):
                tally.help_at = tally.help_by = None
                self._judge(tally, now, out, pulse=True)
        for site_id, _kind in self._alerts.pending():
            self._judge(self._tallies[site_id], now, out, pulse=False)
        return out

    # --- evaluation ------------------------------------------------------------------------

    def _evaluate(self, tracker: StudentTracker, now: float, out: list[Output]) -> None:
        order = self._order
        del order[tracker.user_id]
        order[tracker.user_id] = None
        previous = tracker.state
        new = tracker.evaluate(now, self.settings, self._activity_since)
        if new is None:
            return
        reasons = tracker.reasons
        out.append(
            StudentStateChanged(tracker.user_id, tracker.site_id, new, previous, reasons, now)
        )
        out.append(
            TimelineEntry(
                now,
                "student",
                tracker.site_id,
                new.value,
                tuple(r.text for r in reasons),
                tracker.user_id,
            )
        )
        tally = self._tallies[tracker.site_id]
        tally.move(tracker.user_id, previous, new)
        self._judge(tally, now, out, pulse=True)

    def _judge(self, tally: SiteTally, now: float, out: list[Output], *, pulse: bool) -> None:
        """Re-judge one site; emit its pulse, a level timeline entry and alerts as due."""
        s = self.settings
        before = tally.judgement
        judgement = tally.judge(now, s)
        tally.judgement = judgement
        if pulse:
            out.append(self._pulse(tally, judgement, now))
        if judgement.level is not before.level:
            out.append(
                TimelineEntry(
                    now,
                    "site",
                    tally.site_id,
                    judgement.level.value,
                    self._pulse_reasons(tally, judgement),
                )
            )
        for kind, level in judgement.kinds:
            key: SlotKey = (tally.site_id, kind)
            if level is not Level.ALERT:
                self._open.pop(key, None)
            alert_id = self._alerts.consider(key, level is Level.ALERT, now)
            if alert_id is not None:
                alert = self._open[key] = self._make_alert(alert_id, tally, kind, now)
                out.append(alert)
                out.append(TimelineEntry(now, "alert", tally.site_id, kind.value, (alert.text,)))

    def _members_reasons(self, tally: SiteTally, state: StudentState) -> list[tuple[Reason, ...]]:
        students = self._students
        return [students[uid].reasons for uid in tally.members[state]]

    def _pulse_reasons(self, tally: SiteTally, judgement: Judgement) -> tuple[str, ...]:
        out: list[str] = []
        if tally.help_active(self._now, self.settings):
            out.append("facilitator asked for help")
        state = judgement.top_state
        if state is not None:
            k, n = tally.share(state)
            found = summarise(self._members_reasons(tally, state), self.settings.max_reasons)
            out.append(f"{k} of {n} {STATE_WORDS[state]}")
            out.extend(found)
        return tuple(out)

    def _pulse(self, tally: SiteTally, judgement: Judgement, now: float) -> SitePulse:
        reasons = self._pulse_reasons(tally, judgement) if judgement.level is not Level.CALM else ()
        return SitePulse(
            tally.site_id,
            tally.name,
            tally.counts(),
            judgement.level,
            judgement.top_state,
            reasons,
            now,
        )

    def _make_alert(self, alert_id: int, tally: SiteTally, kind: AlertKind, now: float) -> Alert:
        if kind is AlertKind.HELP:
            reasons: tuple[str, ...] = ("facilitator asked for help",)
            text = f"{tally.name} asks for help"
        else:
            state = StudentState(kind.value)
            k, n = tally.share(state)
            reasons = summarise(self._members_reasons(tally, state), self.settings.max_reasons)
            text = f"{k} of {n} at {tally.name} {STATE_WORDS[state]}: {', '.join(reasons)}"
        return Alert(alert_id, tally.site_id, kind, text, reasons, now)

    # --- staff actions ---------------------------------------------------------------------

    def _set_help(
        self, signal: SiteNeedsHelp, actor: Actor | None, now: float, out: list[Output]
    ) -> None:
        tally = self._tally(signal.site_id)
        if signal.active:
            tally.help_at, tally.help_by = now, actor.user_id if actor else None
        else:
            tally.help_at = tally.help_by = None
        self._judge(tally, now, out, pulse=True)

    def acknowledge(self, actor: Actor, alert_id: int, now: float) -> list[Output]:
        """Acknowledge an alert by id (see ``acknowledge_site``)."""
        if isinstance(alert_id, bool) or not isinstance(alert_id, int):
            raise BadInput("alert_id must be an integer")
        key = self._alerts.fired_by_id.get(alert_id)
        if key is None:
            raise NotFound(f"alert {alert_id} does not exist")
        return self._acknowledge(actor, key[0], key[1], now, alert_id)

    def acknowledge_site(
        self, actor: Actor, site_id: int | None, state: AlertKind | str, now: float
    ) -> list[Output]:
        """Acknowledge a site's state: no new alert until it clears; confused presses and the
        help request of the site are cleared (the teacher has seen them)."""
        return self._acknowledge(actor, site_id, parse_kind(state), now, None)

    def _acknowledge(
        self, actor: Actor, site_id: int | None, kind: AlertKind, now: float, alert_id: int | None
    ) -> list[Output]:
        now = self._clock(now)
        tally = self._tally(site_id)
        check_staff(actor, site_id, self._student_sites)
        at_alert = tally.judgement.kind_level(kind) is Level.ALERT
        self._alerts.acknowledge((site_id, kind), at_alert)
        self._open.pop((site_id, kind), None)
        out: list[Output] = []
        self._expire(now, out)
        out.append(AlertHandled("acknowledged", site_id, kind, actor.user_id, now, alert_id))
        if kind is AlertKind.CONFUSED:
            for user_id, _since in self._presses.active():
                tracker = self._students[user_id]
                if tracker.site_id == site_id:
                    self._seen(tracker, actor, now, out)
        elif kind is AlertKind.HELP and tally.help_at is not None:
            tally.help_at = tally.help_by = None
            self._judge(tally, now, out, pulse=True)
        out.append(
            TimelineEntry(
                now, "alert", site_id, f"{kind.value} acknowledged", (f"by user {actor.user_id}",)
            )
        )
        return out

    def acknowledge_student(self, actor: Actor, user_id: int, now: float) -> list[Output]:
        """The teacher (or the student's facilitator) has seen one student's confused press."""
        now = self._clock(now)
        tracker = self._student(user_id)
        check_staff(actor, tracker.site_id, self._student_sites)
        out: list[Output] = []
        self._expire(now, out)
        self._seen(tracker, actor, now, out)
        self._evaluate(tracker, now, out)
        return out

    def _seen(self, tracker: StudentTracker, actor: Actor, now: float, out: list[Output]) -> None:
        tracker.advance(now, self.settings)  # the press counted as evidence until now
        _record_press(self._presses.clear(tracker, "seen", actor.user_id, now), out)

    def _expire(self, now: float, out: list[Output]) -> None:
        for changed in self._presses.expire(now, self._students):
            _record_press(changed, out)

    def snooze(
        self, actor: Actor, site_id: int | None, state: AlertKind | str, minutes: float, now: float
    ) -> list[Output]:
        """Hold alerts of one site+state for ``minutes`` (0 cancels); the colour still shows."""
        now = self._clock(now)
        kind = parse_kind(state)
        self._tally(site_id)
        check_staff(actor, site_id, self._student_sites)
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, int | float)
            or not (math.isfinite(minutes) and 0 <= minutes <= self.settings.max_snooze_minutes)
        ):
            raise BadInput(f"minutes must be between 0 and {self.settings.max_snooze_minutes:g}")
        until = now + minutes * 60.0
        self._alerts.snooze((site_id, kind), until)
        return [
            AlertHandled("snoozed", site_id, kind, actor.user_id, now, None, until),
            TimelineEntry(
                now,
                "alert",
                site_id,
                f"{kind.value} snoozed",
                (f"by user {actor.user_id} for {minutes:g} min",),
            ),
        ]

    # --- queries ---------------------------------------------------------------------------

    def student_state(self, user_id: int) -> StudentState:
        return self._student(user_id).state

    def student_snapshot(self, user_id: int) -> StudentSnapshot:
        t = self._student(user_id)
        return StudentSnapshot(
            t.user_id,
            t.site_id,
            t.state,
            t.state_since,
            t.reasons,
            t.confused.score,
            t.disengaged.score,
            t.connection.score,
        )

    def pressed_confused(self, site_id: int | None) -> list[tuple[int, float]]:
        """(student, press time) of the active "I'm confused" presses at one site, oldest first."""
        sites = self._student_sites
        return [(uid, at) for uid, at in self._presses.active() if sites[uid] == site_id]

    def next_expiry(self) -> float | None:
        """When the oldest active press expires: call ``tick`` then (None: nothing pending)."""
        return self._presses.next_expiry()

    def site_pulse(self, site_id: int | None) -> SitePulse:
        tally = self._tally(site_id)
        at = 0.0 if self._now == -math.inf else self._now
        return self._pulse(tally, tally.judgement, at)

    def open_alerts(self, sites: Collection[int | None] | None = None) -> list[Alert]:
        """Alerts that still stand (fired, not acknowledged, the condition still at alert
        level) at ``sites`` (None: every site), oldest first: what a member of staff who
        reconnects or reloads must see again."""
        found = [a for (site, _kind), a in self._open.items() if sites is None or site in sites]
        return sorted(found, key=lambda a: a.id)

    def snoozed_until(self, site_id: int | None, state: AlertKind | str) -> float | None:
        return self._alerts.snoozed_until((site_id, parse_kind(state)), self._now)

    def stats(self) -> dict[str, int]:
        """Counters for monitoring: accepted signals, rate-limit rejections, held alerts."""
        return {
            "signals_accepted": self.signals_accepted,
            "telemetry_rejected": self._telemetry.total_rejected,
            "explicit_rejected": self._explicit.total_rejected,
            "alerts_fired": len(self._alerts.fired_by_id),
            "alerts_held_by_cap": self._alerts.held_by_cap,
            "alerts_held_by_window": self._alerts.held_by_window,
        }

    def rejected_for(self, user_id: int) -> int:
        return self._telemetry.rejected.get(user_id, 0) + self._explicit.rejected.get(user_id, 0)

    # --- helpers ---------------------------------------------------------------------------

    def _clock(self, now: float) -> float:
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            raise BadInput("now must be a finite number of seconds")
        if now < self._now:
            return self._now
        self._now = float(now)
        return self._now

    def _tally(self, site_id: int | None) -> SiteTally:
        tally = self._tallies.get(site_id)
        if tally is None:
            raise NotFound(f"site {site_id} is not part of this session")
        return tally

    def _student(self, user_id: int) -> StudentTracker:
        tracker = self._students.get(user_id)
        if tracker is None:
            raise NotFound(f"student {user_id} is not registered in this session")
        return tracker


def _record_press(changed: ExplicitChanged | None, out: list[Output]) -> None:
    """A press that changed something goes to staff at once and into the timeline (scope
    "press", value "pressed" or what cleared it), so reports show the student's own word."""
    if changed is None:
        return
    value = "pressed" if changed.active else changed.cause
    by = () if changed.by is None else (f"by user {changed.by}",)
    out.append(changed)
    out.append(TimelineEntry(changed.at, "press", changed.site_id, value, by, changed.user_id))
