"""The "visible text" rule for every free-text field people type: Q&A questions, prompts,
options, text answers, names and titles.

Text counts as empty unless it holds at least one visible character: whitespace, format
characters (Unicode category Cf: zero-width space U+200B, joiners, direction marks, the BOM),
controls, unassigned and private-use code points, lone combining marks and the known blank
"letters" (Hangul fillers, the braille blank) are not. Invisible characters at either end are
trimmed; inside the text they are kept (joiners matter in emoji and some scripts).
"""

from __future__ import annotations

import unicodedata
from typing import Final

from server.domain.errors import BadInput

_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp"})
_BLANK_LETTERS: Final = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_visible(char: str) -> bool:
    """Whether one character shows something on its own."""
    if char in _BLANK_LETTERS:
        return False
    category = unicodedata.category(char)
    return category not in _INVISIBLE_CATEGORIES and not category.startswith("M")


def _is_edge_blank(char: str) -> bool:
    return char in _BLANK_LETTERS or unicodedata.category(char) in _INVISIBLE_CATEGORIES


def has_visible_text(value: str) -> bool:
    return any(is_visible(char) for char in value)


def trim_invisible(value: str) -> str:
    """``value`` without whitespace and other invisible characters at either end."""
    start, end = 0, len(value)
    while start < end and _is_edge_blank(value[start]):
        start += 1
    while end > start and _is_edge_blank(value[end - 1]):
        end -= 1
    return value[start:end]


def visible_text(value: object, max_length: int, what: str) -> str:
    """Trimmed text with at least one visible character, no longer than ``max_length``;
    BadInput otherwise."""
    if not isinstance(value, str):
        raise BadInput(f"{what} must be text")
    text = trim_invisible(value)
    if not has_visible_text(text):
        raise BadInput(f"{what} is empty (it has no visible characters)")
    if len(text) > max_length:
        raise BadInput(f"{what} is longer than {max_length} characters")
    return text
