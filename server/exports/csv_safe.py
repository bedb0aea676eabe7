"""CSV that is safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, which some
spreadsheets skip before reading a formula) is run as a formula by Excel, LibreOffice and
Google Sheets ("CSV injection"). Every CSV the server sends goes through :func:`csv_text`,
which prefixes such cells with a single quote, as OWASP recommends, so they show as text.
Numbers are written by the caller as numbers (``int``/``float``), so a negative score stays
a number; only strings are neutralised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | bool | None


def safe_cell(value: Cell) -> str | int | float:
    """The value as the CSV writer should see it: strings that a spreadsheet would run as a
    formula get a leading ``'``; numbers pass unchanged; ``None`` is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """A whole CSV document (RFC 4180 quoting, CRLF line ends), every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
