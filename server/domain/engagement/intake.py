"""How each student signal updates that student's facts, with per-question answer statistics.

Idempotent: a second answer or missed-poll for the same (student, question) changes nothing.
"""

from __future__ import annotations

from bisect import insort

from server.domain.engagement.evidence import MediaReport
from server.domain.engagement.settings import EngagementSettings
from server.domain.engagement.signals import (
    AnswerResult,
    Attention,
    ConfusedPressed,
    FacePresence,
    HandChanged,
    MediaStats,
    PollMissed,
    Signal,
)
from server.domain.engagement.student import StudentTracker

MAX_ANSWER_SAMPLES = 5000
MAX_QUESTIONS = 2000


class Intake:
    """Applies signals to facts; keeps each question's sorted response times for its median."""

    def __init__(self, settings: EngagementSettings) -> None:
        self.settings = settings
        self._answered: dict[int, set[str]] = {}
        self._times: dict[str, list[float]] = {}

    def forget(self, user_id: int) -> None:
        self._answered.pop(user_id, None)

    def apply(self, t: StudentTracker, signal: Signal, now: float) -> bool:
        """Update the facts; False when the signal is a duplicate and changes nothing."""
        f = t.facts
        if isinstance(signal, Attention):
            f.attention_at = now
            f.visible, f.focused, f.idle_s = signal.visible, signal.focused, signal.idle_s
            last_input = now - signal.idle_s
            if f.last_input_at is None or last_input > f.last_input_at:
                f.last_input_at = last_input
        elif isinstance(signal, MediaStats):
            report = MediaReport(
                now, signal.loss_fraction, signal.rtt_ms, signal.no_media_s, signal.freezes
            )
            if signal.source == "server":
                f.server_media = report
            else:
                f.client_media = report
        elif isinstance(signal, AnswerResult):
            if not self._first(t.user_id, signal.question_id):
                return False
            f.last_input_at = now
            f.missed_in_row = 0
            slow = self._is_slow(signal)
            if not signal.correct:
                f.wrongs.append((now, signal.group, signal.question_id, slow))
        elif isinstance(signal, PollMissed):
            if not self._first(t.user_id, signal.question_id):
                return False
            if not t.suppressed(now, self.settings):  # a frozen link excuses a missed poll
                f.missed_in_row += 1
                f.missed_questions = [*f.missed_questions[-9:], signal.question_id]
        elif isinstance(signal, ConfusedPressed):
            f.last_input_at = now  # the press itself: the engine's explicit index and facts
        elif isinstance(signal, HandChanged):
            f.hand_raised = signal.raised
            f.last_input_at = now
        elif isinstance(signal, FacePresence):
            f.face_present, f.face_at = signal.present, now
        return True

    def _first(self, user_id: int, question_id: str) -> bool:
        seen = self._answered.setdefault(user_id, set())
        if question_id in seen:
            return False
        seen.add(question_id)
        return True

    def _is_slow(self, signal: AnswerResult) -> bool:
        """Is this answer wrong and slower than slow_factor x the class median so far?"""
        times = self._times.get(signal.question_id)
        if times is None:
            if len(self._times) >= MAX_QUESTIONS:
                self._times.pop(next(iter(self._times)))
            times = self._times[signal.question_id] = []
        slow = False
        if not signal.correct and len(times) >= self.settings.slow_min_samples:
            n = len(times)
            median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
            slow = signal.response_s > self.settings.slow_factor * median
        if len(times) < MAX_ANSWER_SAMPLES:
            insort(times, signal.response_s)
        return slow
