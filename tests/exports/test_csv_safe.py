"""CSV leaving the server never carries a live spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest

from server.exports.csv_safe import csv_text, safe_cell


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x", '=HYPERLINK("http://x","y")'],
)
def test_formula_starts_are_neutralised(text: str) -> None:
    assert safe_cell(text) == "'" + text
    parsed = list(csv.reader(io.StringIO(csv_text(["name"], [[text]]))))
    assert parsed == [["name"], ["'" + text]]


def test_plain_text_and_numbers_pass_unchanged() -> None:
    assert safe_cell("Ada Lovelace") == "Ada Lovelace"
    assert safe_cell(-3) == -3
    assert safe_cell(2.5) == 2.5
    assert safe_cell(None) == ""
    assert safe_cell(True) == "true"
    doc = csv_text(["a", "b"], [["x, y", -1], ['say "hi"', None]])
    assert list(csv.reader(io.StringIO(doc))) == [["a", "b"], ["x, y", "-1"], ['say "hi"', ""]]


def test_header_cells_are_neutralised_too() -> None:
    assert csv_text(["=evil"], []).splitlines() == ["'=evil"]
