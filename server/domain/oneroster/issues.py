"""One problem found in an import: the file, the line (1 = the header, 0 = the file as a whole)
and the reason in plain words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Issue:
    file: str
    line: int
    reason: str
