"""OneRoster 1.2 CSV bulk import (a zip or the files): all or nothing, a dry run, re-import
updates in place (docs/roster.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from server.api.deps import DB, Caller, SvcDep
from server.api.oneroster_schemas import FileRowError, OneRosterReport
from server.domain.oneroster.bundle import BundleLimits, read_files
from server.domain.oneroster.reading import plan_import
from server.domain.roles import Role
from server.services.access import require_role
from server.services.oneroster_import import store_plan

router = APIRouter(prefix="/api/roster", tags=["roster"])
MAX_NAME = 100


@router.post("/oneroster", response_model=OneRosterReport)
async def import_oneroster(
    who: Caller,
    db: DB,
    svc: SvcDep,
    files: Annotated[
        list[UploadFile], File(description="one OneRoster zip, or manifest.csv and the CSV files")
    ],
    dry_run: Annotated[bool, Query(description="check and count only, change nothing")] = False,
) -> OneRosterReport:
    require_role(who, {Role.ADMIN}, "import rosters")
    limits = BundleLimits(max_zip_bytes=svc.settings.max_body_bytes)
    uploads: list[tuple[str, bytes]] = []
    for upload in files[: limits.max_files + 1]:
        name = (upload.filename or "").rsplit("/", 1)[-1][:MAX_NAME]
        data = await upload.read(max(limits.max_file_bytes, limits.max_zip_bytes) + 1)
        uploads.append((name, data))
    bundle = read_files(uploads, limits)
    plan = plan_import(bundle, svc.settings.max_csv_rows)
    counts = await store_plan(db, plan, dry_run=dry_run)
    fields = {k: v for k, v in asdict(counts).items() if k != "issues"}
    return OneRosterReport(
        imported=not counts.issues and not dry_run,
        dry_run=dry_run,
        errors=[FileRowError(file=i.file, line=i.line, reason=i.reason) for i in counts.issues],
        **fields,
    )
