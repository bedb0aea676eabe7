"""The question bank: polls and embedded questions a teacher prepares before a lesson.

An item is checked by the live session's own rules (``build_spec`` with the session limits),
so whatever the bank holds, a live session accepts. Its prompt travels in the shape the
websocket protocol's ``spec`` takes (``kind``, ``prompt``, ``options``, ``correct`` as
``{"choices": [...]}`` / ``{"number": n}`` / ``{"text": t}``, ``min_value``, ``max_value``,
``tolerance``, ``max_length``), which the launcher sends as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Final

import msgspec

from server.domain.errors import BadInput
from server.domain.live.answers import Kind, Spec, build_spec
from server.domain.live.commands import Answer, PromptSpec
from server.domain.live.limits import Limits

USES: Final = ("poll", "question")
"""A poll (opened by the teacher, answers replaceable) or an embedded question (shown at a
lesson-clock position or launched, one answer per student, met again in catch-up)."""

USE_WORDS: Final = "use must be 'poll' or 'question'"
MAX_ITEMS_PER_COURSE: Final = 2000


@dataclass(frozen=True, slots=True)
class BankEntry:
    """A checked item: its use, the validated prompt and, for polls, anonymity."""

    use: str
    spec: Spec
    anonymous: bool = False

    def data(self) -> dict[str, Any]:
        """The item as the API, the JSON export and the launcher show it (with the key)."""
        return {"use": self.use, "anonymous": self.anonymous, "spec": wire_spec(self.spec)}

    def fingerprint(self) -> str:
        """Equal for the same item, whatever order its fields came in."""
        return json.dumps(self.data(), sort_keys=True, separators=(",", ":"))


def wire_spec(spec: Spec) -> dict[str, Any]:
    """``spec`` in the protocol's shape; checking it again gives the same Spec."""
    correct: dict[str, Any] | None = None
    key = spec.correct
    if key is not None:
        if spec.kind == Kind.SINGLE:
            correct = {"choices": [key]}
        elif spec.kind == Kind.MULTIPLE:
            assert isinstance(key, tuple)
            correct = {"choices": list(key)}
        elif spec.kind == Kind.NUMERIC:
            correct = {"number": key}
        else:
            correct = {"text": key}
    return {
        "kind": spec.kind.value,
        "prompt": spec.prompt,
        "options": list(spec.options),
        "correct": correct,
        "min_value": spec.min_value,
        "max_value": spec.max_value,
        "tolerance": spec.tolerance,
        "max_length": spec.max_length if spec.kind == Kind.TEXT else None,
    }


def prompt_spec(raw: object) -> PromptSpec:
    """A PromptSpec from JSON data, its fields type-checked as the websocket protocol does."""
    if not isinstance(raw, dict):
        raise BadInput("spec must be an object")
    _no_unknown(raw, PromptSpec, "spec")
    if isinstance(raw.get("correct"), dict):
        _no_unknown(raw["correct"], Answer, "correct")
    try:
        return msgspec.convert(raw, PromptSpec)
    except msgspec.ValidationError as exc:
        raise BadInput(f"spec: {exc}") from None


def _no_unknown(raw: dict[Any, Any], cls: type[Any], what: str) -> None:
    unknown = set(raw) - {f.name for f in fields(cls)}
    if unknown:
        names = ", ".join(sorted(str(n)[:40] for n in unknown)[:5])
        raise BadInput(f"{what}: unknown field(s) {names}")


def check_entry(use: object, spec: PromptSpec, anonymous: object, limits: Limits) -> BankEntry:
    """Validate an item; BadInput with the reason in plain words."""
    if use not in USES:
        raise BadInput(USE_WORDS)
    if not isinstance(anonymous, bool):
        raise BadInput("anonymous must be true or false")
    if anonymous and use != "poll":
        raise BadInput("only a poll can be anonymous")
    return BankEntry(str(use), build_spec(spec, limits), anonymous)


def entry_from_data(raw: object, limits: Limits) -> BankEntry:
    """An item from its JSON form ``{"use", "anonymous", "spec"}``."""
    if not isinstance(raw, dict):
        raise BadInput("an item must be an object")
    unknown = set(raw) - {"use", "anonymous", "spec"}
    if unknown:
        names = ", ".join(sorted(str(n)[:40] for n in unknown)[:5])
        raise BadInput(f"unknown field(s) {names}")
    use = raw.get("use")
    if use not in USES:  # said first: the spec's rules depend on nothing else
        raise BadInput(USE_WORDS)
    return check_entry(use, prompt_spec(raw.get("spec")), raw.get("anonymous", False), limits)


def entry_from_stored(use: str, spec_data: dict[str, Any], anonymous: bool) -> BankEntry:
    """An item as stored (``Spec.full_data``), already checked when it was saved."""
    return BankEntry(use, Spec.from_data(spec_data), anonymous)


def check_position(raw: object, use: str, limits: Limits) -> float | None:
    """A lesson-clock position (seconds from the start) for an embedded question attached to a
    lesson; None to launch it by hand. Polls are opened by hand: no position."""
    if raw is None:
        return None
    if use != "question":
        raise BadInput("only an embedded question has a position on the lesson clock")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise BadInput("position must be a number of seconds")
    position = float(raw)
    if not 0.0 <= position <= limits.max_position_seconds:  # also rejects NaN
        raise BadInput("position is outside the lesson")
    return position


@dataclass(frozen=True, slots=True)
class RowIssue:
    """A problem with one row of a CSV file (its line) or one item of a JSON file (its
    number, from 1)."""

    line: int
    reason: str


@dataclass(slots=True)
class BankParse:
    entries: list[tuple[int, BankEntry]] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list)


def parse_bank_json(data: bytes, *, max_rows: int, limits: Limits) -> BankParse:
    """A JSON export (``{"items": [...]}``, or a bare list of items): every item checked,
    each problem reported with the item's number."""
    result = BankParse()
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        result.issues.append(RowIssue(1, "the file is not JSON text"))
        return result
    items = doc.get("items") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        result.issues.append(RowIssue(1, 'expected {"items": [...]} or a list of items'))
        return result
    if len(items) > max_rows:
        result.issues.append(RowIssue(max_rows + 1, f"more than {max_rows} items"))
        return result
    for number, raw in enumerate(items, start=1):
        try:
            result.entries.append((number, entry_from_data(raw, limits)))
        except BadInput as exc:
            result.issues.append(RowIssue(number, str(exc)))
    if not result.entries and not result.issues:
        result.issues.append(RowIssue(1, "the file has no items"))
    return result
