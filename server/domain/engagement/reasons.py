"""Reasons in plain words: one student's, and a site's summary of many students' reasons."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# How a reason reads when n students at a site share it ({n}, {topic}, {items} are filled in).
SITE_PHRASES: dict[str, str] = {
    "pressed_confused": "{n} pressed confused",
    "wrong_answers": "{n} with wrong answers on {topic}{items}",
    "slow_wrong": "{n} slow and wrong{items}",
    "hand_raised": "{n} with hand raised",
    "tab_hidden": "{n} with the lesson tab hidden",
    "window_blurred": "{n} with the lesson window not focused",
    "idle": "{n} idle",
    "missed_polls": "{n} missing polls",
    "no_input": "{n} with no input during the activity",
    "face_absent": "{n} away from the camera",
    "media_loss": "{n} with packet loss",
    "high_rtt": "{n} with slow round trips",
    "no_media": "{n} with frozen media",
    "freezes": "{n} with video freezes",
    "no_signals": "{n} sending no signals",
    "help_requested": "facilitator asked for help",
    "cleared": "{n} cleared",
    "signals_back": "{n} sending signals",
}


@dataclass(frozen=True, slots=True)
class Reason:
    """One piece of evidence: a stable ``code``, plain ``text``, an optional topic and items."""

    code: str
    text: str
    topic: str = ""
    items: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "text": self.text,
            "topic": self.topic,
            "items": list(self.items),
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def wrong_answers(count: int, group: str, questions: Iterable[str]) -> Reason:
    qs = tuple(sorted(set(questions)))
    return Reason(
        "wrong_answers",
        f"{_plural(count, 'wrong answer')} on {group} ({', '.join(qs)})",
        group,
        qs,
    )


def summarise(reason_lists: Iterable[tuple[Reason, ...]], limit: int) -> tuple[str, ...]:
    """Count shared reasons across students, most common first, as site-level phrases."""
    counts: dict[tuple[str, str], int] = {}
    items: dict[tuple[str, str], set[str]] = {}
    for reasons in reason_lists:
        seen: set[tuple[str, str]] = set()
        for r in reasons:
            key = (r.code, r.topic)
            if key in seen:
                continue
            seen.add(key)
            counts[key] = counts.get(key, 0) + 1
            items.setdefault(key, set()).update(r.items)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    out: list[str] = []
    for (code, topic), n in ordered[:limit]:
        template = SITE_PHRASES.get(code, "{n} " + code.replace("_", " "))
        listed = sorted(items[(code, topic)])
        shown = f" ({', '.join(listed[:5])})" if listed else ""
        out.append(template.format(n=n, topic=topic, items=shown))
    return tuple(out)
