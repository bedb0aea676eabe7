"""The question bank's items: checked by the live session's rules, and their JSON and CSV forms
give back the same item (a formula-safe export imports unchanged)."""

from __future__ import annotations

import json

import pytest

from server.domain.bank import check_position, entry_from_data, parse_bank_json, prompt_spec
from server.domain.bank_csv import HEADER, entry_row, parse_bank_csv
from server.domain.errors import BadInput
from server.domain.live.answers import build_spec
from server.domain.live.limits import Limits
from server.exports.csv_safe import csv_text

LIMITS = Limits()
ITEMS = [
    {
        "use": "poll",
        "anonymous": True,
        "spec": {"kind": "single", "prompt": "+1?", "options": ["=A", "B"]},
    },
    {
        "use": "question",
        "spec": {
            "kind": "multiple",
            "prompt": "Evens",
            "options": ["2", "3", "4"],
            "correct": {"choices": [2, 0]},
        },
    },
    {
        "use": "question",
        "spec": {
            "kind": "numeric",
            "prompt": "g?",
            "correct": {"number": -9.8},
            "min_value": -20,
            "max_value": 0,
            "tolerance": 0.1,
        },
    },
    {
        "use": "question",
        "spec": {"kind": "text", "prompt": "@home?", "correct": {"text": "-yes"}, "max_length": 12},
    },
]


@pytest.mark.parametrize("raw", ITEMS)
def test_the_json_form_checks_to_the_same_item(raw: dict[str, object]) -> None:
    entry = entry_from_data(raw, LIMITS)
    again = entry_from_data(entry.data(), LIMITS)
    assert again == entry
    assert entry.spec == build_spec(prompt_spec(entry.data()["spec"]), LIMITS)


def test_csv_export_imports_unchanged_and_is_formula_safe() -> None:
    entries = [entry_from_data(raw, LIMITS) for raw in ITEMS]
    text = csv_text(HEADER, [entry_row(e) for e in entries])
    assert "'=A" in text and "'@home?" in text and "'-yes" in text and ",-9.8," in text
    parsed = parse_bank_csv(text.encode(), max_rows=100, limits=LIMITS)
    assert parsed.issues == []
    assert [e for _, e in parsed.entries] == entries
    assert [line for line, _ in parsed.entries] == [2, 3, 4, 5]


def test_a_json_file_reports_each_bad_item_by_number() -> None:
    one_option = {"use": "poll", "spec": {"kind": "single", "prompt": "x", "options": ["a"]}}
    data = json.dumps({"items": [one_option, {"use": "quiz"}, 5]}).encode()
    parsed = parse_bank_json(data, max_rows=100, limits=LIMITS)
    assert [(i.line, i.reason) for i in parsed.issues] == [
        (1, "give between 2 and 10 options"),
        (2, "use must be 'poll' or 'question'"),
        (3, "an item must be an object"),
    ]
    assert (
        parse_bank_json(b"[1, 2, 3]", max_rows=2, limits=LIMITS).issues[0].reason
        == "more than 2 items"
    )


def test_positions_only_for_embedded_questions_within_the_lesson() -> None:
    assert check_position(90, "question", LIMITS) == 90.0
    assert check_position(None, "poll", LIMITS) is None
    for raw, use in (
        (10, "poll"),
        (-1, "question"),
        (float("nan"), "question"),
        (True, "question"),
    ):
        with pytest.raises(BadInput):
            check_position(raw, use, LIMITS)
