"""The question bank as a spreadsheet: one row per item, every row checked, all or nothing.

Columns: ``use`` (poll or question), ``kind`` (single, multiple, numeric, text), ``prompt``,
``option_1`` ... ``option_10``, ``correct`` (choice kinds: option numbers from 1, e.g. ``2`` or
``1,3``; numeric: a number; text: the expected words), ``min_value``, ``max_value``,
``tolerance``, ``max_length``, ``anonymous`` (true/false, polls only). Empty cells are unset.

The export goes through ``csv_text``, which puts a ``'`` before a text cell a spreadsheet would
run as a formula; the import drops that ``'`` again, so an export imports as it was.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Final

from server.domain.bank import BankEntry, BankParse, RowIssue, check_entry
from server.domain.errors import BadInput
from server.domain.live.answers import Kind
from server.domain.live.commands import Answer, PromptSpec
from server.domain.live.limits import Limits

OPTION_COLUMNS: Final = tuple(f"option_{i}" for i in range(1, Limits().max_options + 1))
HEADER: Final = (
    "use",
    "kind",
    "prompt",
    *OPTION_COLUMNS,
    "correct",
    "min_value",
    "max_value",
    "tolerance",
    "max_length",
    "anonymous",
)
REQUIRED: Final = ("use", "kind", "prompt")
_FORMULA_QUOTED = re.compile(r"^'[=+\-@\t\r]")
Cell = str | int | float | bool | None


def entry_row(entry: BankEntry) -> list[Cell]:
    """One CSV row (numbers stay numbers, so a negative bound is not quoted)."""
    spec = entry.spec
    options: list[Cell] = [*spec.options, *[None] * (len(OPTION_COLUMNS) - len(spec.options))]
    key = spec.correct
    correct: Cell
    if key is None:
        correct = None
    elif spec.kind == Kind.SINGLE:
        correct = str(int(key) + 1)  # type: ignore[arg-type]
    elif spec.kind == Kind.MULTIPLE:
        assert isinstance(key, tuple)
        correct = ",".join(str(i + 1) for i in key)
    else:
        correct = key  # type: ignore[assignment]
    numeric = spec.kind == Kind.NUMERIC
    return [
        entry.use,
        spec.kind.value,
        spec.prompt,
        *options,
        correct,
        spec.min_value,
        spec.max_value,
        spec.tolerance if numeric else None,
        spec.max_length if spec.kind == Kind.TEXT else None,
        entry.anonymous if entry.use == "poll" else None,
    ]


def _cell(raw: dict[str, str | None], name: str) -> str:
    value = (raw.get(name) or "").strip()
    return value[1:] if _FORMULA_QUOTED.match(value) else value


def _number(text: str, what: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise BadInput(f"{what} must be a number, not {text[:40]!r}") from None


def _answer(kind: str, text: str) -> Answer | None:
    if not text:
        return None
    if kind in (Kind.SINGLE, Kind.MULTIPLE):
        parts = [p for p in re.split(r"[,;\s]+", text) if p]
        if not all(p.isdigit() for p in parts):
            raise BadInput("correct names options by number, e.g. 2 or 1,3")
        return Answer(choices=tuple(int(p) - 1 for p in parts))
    if kind == Kind.NUMERIC:
        return Answer(number=_number(text, "correct"))
    return Answer(text=text)


def _flag(text: str) -> bool:
    folded = text.casefold()
    if folded in ("", "false", "no", "0"):
        return False
    if folded in ("true", "yes", "1"):
        return True
    raise BadInput(f"anonymous must be true or false, not {text[:20]!r}")


def _row_entry(raw: dict[str, str | None], limits: Limits) -> BankEntry:
    if raw.get("_extra"):
        raise BadInput("more cells than columns")
    kind = _cell(raw, "kind").lower()
    max_length = _number(_cell(raw, "max_length"), "max_length")
    if max_length is not None and not max_length.is_integer():
        raise BadInput("max_length must be a whole number")
    spec = PromptSpec(
        kind=kind,
        prompt=_cell(raw, "prompt"),
        options=tuple(o for o in (_cell(raw, c) for c in OPTION_COLUMNS) if o),
        correct=_answer(kind, _cell(raw, "correct")),
        min_value=_number(_cell(raw, "min_value"), "min_value"),
        max_value=_number(_cell(raw, "max_value"), "max_value"),
        tolerance=_number(_cell(raw, "tolerance"), "tolerance") or 0.0,
        max_length=None if max_length is None else int(max_length),
    )
    use = _cell(raw, "use").lower()
    return check_entry(use, spec, _flag(_cell(raw, "anonymous")), limits)


def parse_bank_csv(data: bytes, *, max_rows: int, limits: Limits) -> BankParse:
    """Check every row and report each problem with its line; a valid file yields items."""
    result = BankParse()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.issues.append(RowIssue(1, f"the file is not UTF-8 text ({exc.reason})"))
        return result
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="_extra")
    header: Sequence[str] = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        result.issues.append(RowIssue(1, f"missing column(s): {', '.join(missing)}"))
        return result
    unknown = [c for c in header if c not in HEADER]
    if unknown:
        names = ", ".join(c[:40] for c in unknown[:5])
        result.issues.append(RowIssue(1, f"unknown column(s): {names}"))
        return result
    try:
        for index, raw in enumerate(reader):
            line = reader.line_num
            if index >= max_rows:
                result.issues.append(RowIssue(line, f"more than {max_rows} rows"))
                break
            try:
                result.entries.append((line, _row_entry(raw, limits)))
            except BadInput as exc:
                result.issues.append(RowIssue(line, str(exc)))
    except csv.Error as exc:
        result.issues.append(RowIssue(reader.line_num, f"malformed CSV: {exc}"))
    if not result.entries and not result.issues:
        result.issues.append(RowIssue(1, "the file has a header but no rows"))
    return result
