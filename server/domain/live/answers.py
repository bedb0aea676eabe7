"""Answer kinds shared by polls and embedded questions: validating what is asked, normalising
what is answered, marking it, and summarising many answers (counts, never identities)."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Literal

from server.domain.errors import BadInput
from server.domain.live.commands import Answer, PromptSpec
from server.domain.live.context import site_order
from server.domain.live.limits import Limits
from server.domain.text import visible_text

Value = int | float | str | tuple[int, ...]
"""A normalised answer: option index (single), sorted indexes (multiple), float, or text."""


class Kind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    NUMERIC = "numeric"
    TEXT = "text"


CHOICE_KINDS = frozenset({Kind.SINGLE, Kind.MULTIPLE})


@dataclass(frozen=True, slots=True)
class Spec:
    """A validated prompt. ``max_length`` is 0 unless the kind is text."""

    kind: Kind
    prompt: str
    options: tuple[str, ...]
    correct: Value | None
    min_value: float | None
    max_value: float | None
    tolerance: float
    max_length: int

    def public_data(self) -> dict[str, Any]:
        """What participants may see: everything but the answer key."""
        return {
            "kind": self.kind.value,
            "prompt": self.prompt,
            "options": list(self.options),
            "min_value": self.min_value,
            "max_value": self.max_value,
            "max_length": self.max_length,
            "tolerance": self.tolerance,
            "has_key": self.correct is not None,
        }

    def full_data(self) -> dict[str, Any]:
        data = self.public_data()
        data["correct"] = value_to_data(self.correct)
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Spec:
        kind = Kind(data["kind"])
        return cls(
            kind=kind,
            prompt=data["prompt"],
            options=tuple(data["options"]),
            correct=value_from_data(kind, data.get("correct")),
            min_value=data["min_value"],
            max_value=data["max_value"],
            tolerance=data["tolerance"],
            max_length=data["max_length"],
        )


def value_to_data(value: Value | None) -> Any:
    return list(value) if isinstance(value, tuple) else value


def value_from_data(kind: Kind, raw: Any) -> Value | None:
    if raw is None:
        return None
    if kind == Kind.MULTIPLE:
        return tuple(int(i) for i in raw)
    if kind == Kind.NUMERIC:
        return float(raw)
    if kind == Kind.SINGLE:
        return int(raw)
    return str(raw)


def _number(value: object, limits: Limits, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{what} must be a number")
    number = float(value)
    if not math.isfinite(number) or abs(number) > limits.max_abs_number:
        raise BadInput(f"{what} is out of range")
    return number


def _options(spec: PromptSpec, kind: Kind, limits: Limits) -> tuple[str, ...]:
    raw = spec.options
    if not isinstance(raw, tuple | list):
        raise BadInput("options must be a list of texts")
    if kind not in CHOICE_KINDS:
        if raw:
            raise BadInput(f"a {kind.value} prompt takes no options")
        return ()
    if not limits.min_options <= len(raw) <= limits.max_options:
        raise BadInput(f"give between {limits.min_options} and {limits.max_options} options")
    options = tuple(visible_text(o, limits.max_option_length, "an option") for o in raw)
    if len({o.casefold() for o in options}) != len(options):
        raise BadInput("options must differ")
    return options


def build_spec(spec: PromptSpec, limits: Limits) -> Spec:
    """Validate a prompt; BadInput on anything malformed or too large."""
    if not isinstance(spec, PromptSpec):
        raise BadInput("missing prompt spec")
    try:
        kind = Kind(spec.kind)
    except ValueError:
        raise BadInput(f"unknown kind {spec.kind!r}") from None
    prompt = visible_text(spec.prompt, limits.max_prompt_length, "the prompt")
    options = _options(spec, kind, limits)
    min_value = max_value = None
    tolerance = 0.0
    max_length = 0
    if kind == Kind.NUMERIC:
        if spec.min_value is not None:
            min_value = _number(spec.min_value, limits, "min_value")
        if spec.max_value is not None:
            max_value = _number(spec.max_value, limits, "max_value")
        if min_value is not None and max_value is not None and min_value > max_value:
            raise BadInput("min_value is above max_value")
        tolerance = _number(spec.tolerance, limits, "tolerance")
        if tolerance < 0:
            raise BadInput("tolerance must not be negative")
    elif spec.min_value is not None or spec.max_value is not None or spec.tolerance:
        raise BadInput("min_value, max_value and tolerance are for numeric prompts")
    if kind == Kind.TEXT:
        limit = limits.max_text_answer_length
        raw_length = limit if spec.max_length is None else spec.max_length
        if isinstance(raw_length, bool) or not isinstance(raw_length, int):
            raise BadInput("max_length must be an integer")
        if not 1 <= raw_length <= limit:
            raise BadInput(f"max_length must be between 1 and {limit}")
        max_length = raw_length
    elif spec.max_length is not None:
        raise BadInput("max_length is for text prompts")
    built = Spec(kind, prompt, options, None, min_value, max_value, tolerance, max_length)
    if spec.correct is None:
        return built
    correct = normalize_answer(built, spec.correct, limits)
    return Spec(kind, prompt, options, correct, min_value, max_value, tolerance, max_length)


def _choices(raw: object, count: int) -> tuple[int, ...]:
    if not isinstance(raw, tuple | list):
        raise BadInput("choices must be a list of option numbers")
    picked: list[int] = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item < count:
            raise BadInput(f"invalid option {item!r}")
        picked.append(item)
    if len(set(picked)) != len(picked):
        raise BadInput("an option is chosen twice")
    return tuple(sorted(picked))


def normalize_answer(spec: Spec, answer: Answer, limits: Limits) -> Value:
    """The canonical form of ``answer`` for ``spec``; BadInput if it does not fit."""
    if not isinstance(answer, Answer):
        raise BadInput("missing answer")
    kind = spec.kind
    wrong_fields = (
        (kind not in CHOICE_KINDS and len(answer.choices) > 0)
        or (kind != Kind.NUMERIC and answer.number is not None)
        or (kind != Kind.TEXT and answer.text is not None)
    )
    if wrong_fields:
        raise BadInput(f"a {kind.value} answer fills only its own field")
    if kind in CHOICE_KINDS:
        picked = _choices(answer.choices, len(spec.options))
        if not picked:
            raise BadInput("choose an option")
        if kind == Kind.SINGLE:
            if len(picked) != 1:
                raise BadInput("choose exactly one option")
            return picked[0]
        return picked
    if kind == Kind.NUMERIC:
        if answer.number is None:
            raise BadInput("give a number")
        number = _number(answer.number, limits, "the answer")
        if spec.min_value is not None and number < spec.min_value:
            raise BadInput(f"the answer is below {spec.min_value}")
        if spec.max_value is not None and number > spec.max_value:
            raise BadInput(f"the answer is above {spec.max_value}")
        return number
    return visible_text(answer.text, spec.max_length, "the answer")


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def is_correct(spec: Spec, value: Value) -> bool | None:
    """Whether ``value`` matches the key; None when the prompt has no key."""
    key = spec.correct
    if key is None:
        return None
    if spec.kind == Kind.NUMERIC:
        assert isinstance(value, float) and isinstance(key, float)
        return abs(value - key) <= spec.tolerance + 1e-9
    if spec.kind == Kind.TEXT:
        assert isinstance(value, str) and isinstance(key, str)
        return _fold(value) == _fold(key)
    return value == key


def summarize(spec: Spec, values: Sequence[Value], limits: Limits) -> dict[str, Any]:
    """Aggregate answers: how many, how many correct (None without a key), and per kind the
    option counts, numeric statistics, or the most frequent texts."""
    marks = [is_correct(spec, v) for v in values]
    out: dict[str, Any] = {
        "answered": len(values),
        "correct": None if spec.correct is None else sum(1 for m in marks if m),
    }
    if spec.kind in CHOICE_KINDS:
        counts = [0] * len(spec.options)
        for value in values:
            for index in value if isinstance(value, tuple) else (value,):
                assert isinstance(index, int)
                counts[index] += 1
        out["counts"] = counts
    elif spec.kind == Kind.NUMERIC:
        numbers = [float(v) for v in values if isinstance(v, float)]
        out["mean"] = statistics.fmean(numbers) if numbers else None
        out["median"] = statistics.median(numbers) if numbers else None
        out["min"] = min(numbers) if numbers else None
        out["max"] = max(numbers) if numbers else None
    else:
        groups = Counter(_fold(str(v)) for v in values)
        ranked = sorted(groups.items(), key=lambda item: (-item[1], item[0]))
        out["texts"] = [[text, count] for text, count in ranked[: limits.max_text_groups]]
    return out


def adds_up(spec: Spec) -> bool:
    """Whether the class total is the sum of the sites' rows (option counts). A median or the
    most frequent texts is not: such prompts send their total to the leaders separately."""
    return spec.kind in CHOICE_KINDS


REMOTE: Final = "remote"
SiteFilter = int | Literal["remote"] | None
"""None: every site; an int: that site; "remote": students at home (site None)."""


def site_matches(site_id: int | None, site_filter: SiteFilter) -> bool:
    if site_filter is None:
        return True
    if site_filter == REMOTE:
        return site_id is None
    return site_id == site_filter


def results_by_site(
    spec: Spec,
    entries: Sequence[tuple[int | None, Value]],
    site_filter: SiteFilter,
    known_sites: Iterable[int | None],
    limits: Limits,
) -> dict[str, Any]:
    """``total`` over the kept entries and one row per site (known sites appear even with no
    answer; remote students are the row with ``site_id`` None)."""
    kept = [(s, v) for s, v in entries if site_matches(s, site_filter)]
    grouped: dict[int | None, list[Value]] = {}
    for site_id, value in kept:
        grouped.setdefault(site_id, []).append(value)
    for site_id in known_sites:
        if site_matches(site_id, site_filter):
            grouped.setdefault(site_id, [])
    if site_filter is not None:
        grouped.setdefault(None if site_filter == REMOTE else site_filter, [])
    return {
        "total": summarize(spec, [v for _, v in kept], limits),
        "sites": [
            {"site_id": site_id, **summarize(spec, values, limits)}
            for site_id, values in site_order(grouped)
        ],
    }
