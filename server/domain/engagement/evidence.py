"""What the engine knows about one student, and the raw evidence scores it implies at a time.

Raw scores are in [0, 1] and are recomputed from the facts whenever the student is evaluated;
``explain_*`` rebuild the same sums as plain-word reasons (only when a state changes, to keep
the hot path cheap).
"""

from __future__ import annotations

from collections import deque

from server.domain.engagement.reasons import Reason, wrong_answers
from server.domain.engagement.settings import EngagementSettings


class MediaReport:
    """The latest media-stats report from one source, reduced to what matters."""

    __slots__ = ("at", "freezes", "loss", "no_media", "rtt")

    def __init__(self, at: float, loss: float, rtt: float, no_media: float, freezes: int) -> None:
        self.at = at
        self.loss = loss
        self.rtt = rtt
        self.no_media = no_media
        self.freezes = freezes

    def bad(self, s: EngagementSettings) -> bool:
        return (
            self.loss >= s.loss_fraction
            or self.rtt >= s.rtt_ms
            or self.no_media >= s.no_media_s
            or self.freezes >= s.freezes
        )

    def reasons(self, s: EngagementSettings) -> list[Reason]:
        out: list[Reason] = []
        if self.no_media >= s.no_media_s:
            out.append(Reason("no_media", f"no media for {self.no_media:.0f} s"))
        if self.loss >= s.loss_fraction:
            out.append(Reason("media_loss", f"{self.loss:.0%} packet loss"))
        if self.rtt >= s.rtt_ms:
            out.append(Reason("high_rtt", f"round trip {self.rtt:.0f} ms"))
        if self.freezes >= s.freezes:
            out.append(Reason("freezes", f"{self.freezes} video freezes"))
        return out


class Facts:
    """Behavioural facts about one student (mutable, owned by its tracker)."""

    __slots__ = (
        "attention_at",
        "client_media",
        "confused_at",
        "face_at",
        "face_present",
        "focused",
        "hand_raised",
        "idle_s",
        "last_input_at",
        "missed_in_row",
        "missed_questions",
        "server_media",
        "visible",
        "wrongs",
    )

    def __init__(self) -> None:
        self.confused_at: float | None = None
        self.hand_raised = False
        # (at, group, question_id, slow)
        self.wrongs: deque[tuple[float, str, str, bool]] = deque()
        self.missed_in_row = 0
        self.missed_questions: list[str] = []
        self.last_input_at: float | None = None
        self.attention_at: float | None = None
        self.visible = True
        self.focused = True
        self.idle_s = 0.0
        self.face_present: bool | None = None
        self.face_at = 0.0
        self.server_media: MediaReport | None = None
        self.client_media: MediaReport | None = None

    # --- connection ------------------------------------------------------------------------

    def connection_raw(self, now: float, s: EngagementSettings) -> float:
        for report in (self.server_media, self.client_media):
            if report is not None and now - report.at <= s.media_stale_s and report.bad(s):
                return 1.0
        return 0.0

    def explain_connection(self, now: float, s: EngagementSettings) -> list[Reason]:
        out: list[Reason] = []
        for report in (self.server_media, self.client_media):
            if report is not None and now - report.at <= s.media_stale_s:
                out.extend(r for r in report.reasons(s) if r.code not in {x.code for x in out})
        return out

    # --- confused --------------------------------------------------------------------------

    def _prune_wrongs(self, now: float, s: EngagementSettings) -> None:
        wrongs = self.wrongs
        cutoff = now - s.wrong_window_s
        while wrongs and wrongs[0][0] < cutoff:
            wrongs.popleft()

    def confused_raw(self, now: float, s: EngagementSettings) -> float:
        raw = 0.0
        if self.confused_at is not None:  # the engine clears it on expiry (explicit.PressIndex)
            raw += s.confused_weight
        if self.hand_raised:
            raw += s.hand_raised_weight
        if self.wrongs:
            self._prune_wrongs(now, s)
            per_group: dict[str, int] = {}
            slow = 0
            for _at, group, _q, is_slow in self.wrongs:
                per_group[group] = per_group.get(group, 0) + 1
                slow += is_slow
            if per_group:
                raw += s.wrong_answer_weight * max(per_group.values()) + s.slow_wrong_weight * slow
        return raw if raw < 1.0 else 1.0

    def explain_confused(self, now: float, s: EngagementSettings) -> list[Reason]:
        out: list[Reason] = []
        if self.confused_at is not None:
            out.append(Reason("pressed_confused", "pressed confused"))
        self._prune_wrongs(now, s)
        groups: dict[str, list[str]] = {}
        slow_qs: list[str] = []
        for _at, group, question, is_slow in self.wrongs:
            groups.setdefault(group, []).append(question)
            if is_slow:
                slow_qs.append(question)
        for group, questions in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            if len(questions) >= 2 or not out:
                out.append(wrong_answers(len(questions), group, questions))
        if slow_qs:
            qs = tuple(sorted(set(slow_qs)))
            out.append(Reason("slow_wrong", f"slow and wrong on {', '.join(qs)}", "", qs))
        if self.hand_raised:
            out.append(Reason("hand_raised", "hand raised"))
        return out

    # --- disengaged ------------------------------------------------------------------------

    def disengaged_raw(
        self, now: float, s: EngagementSettings, activity_since: float | None
    ) -> float:
        raw = 0.0
        if self.attention_at is not None and now - self.attention_at <= s.attention_stale_s:
            if not self.visible:
                raw += s.hidden_weight
            elif not self.focused:
                raw += s.blurred_weight
            if self.idle_s >= s.idle_s:
                raw += s.idle_weight
        if self.missed_in_row:
            raw += s.missed_poll_weight * self.missed_in_row
        if activity_since is not None and self._silent_for(now, activity_since) >= s.no_input_s:
            raw += s.no_input_weight
        if (
            self.face_present is False
            and s.face_presence_enabled
            and now - self.face_at <= s.attention_stale_s
        ):
            raw += s.face_absent_weight
        return raw if raw < 1.0 else 1.0

    def _silent_for(self, now: float, activity_since: float) -> float:
        last = self.last_input_at
        since = activity_since if last is None or last < activity_since else last
        return now - since

    def explain_disengaged(
        self, now: float, s: EngagementSettings, activity_since: float | None
    ) -> list[Reason]:
        out: list[Reason] = []
        if self.attention_at is not None and now - self.attention_at <= s.attention_stale_s:
            if not self.visible:
                out.append(Reason("tab_hidden", "lesson tab hidden"))
            elif not self.focused:
                out.append(Reason("window_blurred", "lesson window not focused"))
            if self.idle_s >= s.idle_s:
                out.append(Reason("idle", f"idle for {self.idle_s:.0f} s"))
        if self.missed_in_row:
            qs = tuple(self.missed_questions[-self.missed_in_row :])
            text = (
                f"missed {self.missed_in_row} poll{'s' if self.missed_in_row > 1 else ''} in a row"
            )
            out.append(Reason("missed_polls", text, "", qs))
        if activity_since is not None:
            silent = self._silent_for(now, activity_since)
            if silent >= s.no_input_s:
                out.append(Reason("no_input", f"no input for {silent:.0f} s during the activity"))
        if self.face_present is False and s.face_presence_enabled:
            out.append(Reason("face_absent", "nobody at the camera"))
        return out
