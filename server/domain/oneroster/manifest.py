"""manifest.csv: the version and, per file, ``bulk``, ``delta`` or ``absent``. This import takes
bulk files only (a bulk file is the whole truth for what it holds); the manifest and the files
given must agree."""

from __future__ import annotations

from typing import Final

from server.domain.oneroster.issues import Issue
from server.domain.oneroster.tables import Table

MANIFEST: Final = "manifest.csv"
MODES: Final = frozenset({"bulk", "delta", "absent"})


def check_manifest(manifest: Table, given: frozenset[str]) -> list[Issue]:
    issues: list[Issue] = []
    props = {row["propertyName"]: row for row in manifest.rows}
    version = props.get("oneroster.version")
    if version is None:
        issues.append(Issue(MANIFEST, 0, "oneroster.version is missing"))
    elif version["value"] != "1.2":
        issues.append(
            Issue(MANIFEST, version.line, f"oneroster.version {version['value']!r}: 1.2 expected")
        )
    for key, row in props.items():
        if not key.startswith("file."):
            continue
        name = f"{key.removeprefix('file.')}.csv"
        mode = row["value"]
        if mode not in MODES:
            issues.append(Issue(MANIFEST, row.line, f"{key} {mode!r} is not bulk, delta or absent"))
        elif mode == "delta":
            issues.append(
                Issue(MANIFEST, row.line, f"{key} is delta: export a bulk file (the full roster)")
            )
        elif mode == "bulk" and name not in given:
            issues.append(Issue(MANIFEST, row.line, f"{key} is bulk but {name} was not given"))
        elif mode == "absent" and name in given:
            issues.append(Issue(MANIFEST, row.line, f"{key} is absent but {name} was given"))
    for name in sorted(given - {MANIFEST}):
        if f"file.{name.removesuffix('.csv')}" not in props:
            issues.append(Issue(MANIFEST, 0, f"{name} is not listed (file.{name[:-4]},bulk)"))
    return issues
