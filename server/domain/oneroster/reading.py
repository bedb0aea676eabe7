"""The whole check, pure: a bundle of files in, a plan of what to store and every issue out."""

from __future__ import annotations

from server.domain.oneroster.bundle import Bundle
from server.domain.oneroster.issues import Issue
from server.domain.oneroster.manifest import MANIFEST, check_manifest
from server.domain.oneroster.plan import Plan, build_plan
from server.domain.oneroster.tables import Table, read_table


def plan_import(bundle: Bundle, max_rows: int) -> Plan:
    """Every file read, the manifest checked, references resolved; issues sorted by file and
    line. The plan is only to be stored when it has no issues."""
    issues = list(bundle.issues)
    tables: dict[str, Table] = {}
    for name, data in bundle.files.items():
        if name != MANIFEST:
            tables[name] = read_table(name, data, max_rows)
            issues.extend(tables[name].issues)
    if MANIFEST in bundle.files:
        manifest = read_table(MANIFEST, bundle.files[MANIFEST], 100)
        issues.extend(manifest.issues)
        issues.extend(check_manifest(manifest, frozenset(bundle.files)))
    else:
        issues.append(Issue(MANIFEST, 0, "manifest.csv is needed (OneRoster 1.2, bulk files)"))
    plan = build_plan(tables) if tables else Plan()
    if not tables and not bundle.issues:
        issues.append(Issue("upload", 0, "no OneRoster files were given"))
    plan.issues = sorted(set(issues + plan.issues))
    return plan
