"""The visible-text rule shared by every free-text field."""

from __future__ import annotations

import pytest

from server.domain.errors import BadInput
from server.domain.text import has_visible_text, trim_invisible, visible_text


@pytest.mark.parametrize(
    "text",
    [
        "",
        " \t\n",
        "\u200b",  # zero-width space
        "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202e",  # other format characters
        "\u00a0\u2003\u3000",  # non-breaking and wide spaces
        "\u3164\u115f\uffa0\u2800",  # Hangul fillers, braille blank
        "\u0301\u0308",  # combining marks with nothing to sit on
        "\x00\x07\x1b",  # controls
        "\ue000",  # private use
    ],
)
def test_invisible_text_is_refused(text: str) -> None:
    assert not has_visible_text(text)
    with pytest.raises(BadInput, match="no visible characters"):
        visible_text(text, 100, "the question")


@pytest.mark.parametrize("text", ["a", ".", "\u00e9", "\u4e2d", "\U0001f44d", "e\u0301", "\u0661"])
def test_visible_text_is_kept(text: str) -> None:
    assert visible_text(f" \u200b{text}\u200b ", 100, "x") == text


def test_inner_invisible_characters_stay_and_length_counts_after_trim() -> None:
    assert trim_invisible("\u200b a\u200db \u00a0") == "a\u200db"
    assert visible_text("  " + "x" * 10 + "  ", 10, "x") == "x" * 10
    with pytest.raises(BadInput, match="longer than 10"):
        visible_text("x" * 11, 10, "x")
    with pytest.raises(BadInput, match="must be text"):
        visible_text(5, 10, "x")
