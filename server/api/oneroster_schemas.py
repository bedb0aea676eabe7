"""What the OneRoster import answers (docs/roster.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FileRowError(BaseModel):
    file: str
    line: int = Field(description="1 = the header row; 0 = the file as a whole")
    reason: str


class OneRosterReport(BaseModel):
    imported: bool
    dry_run: bool
    schools_created: int = 0
    schools_updated: int = 0
    sites_created: int = 0
    users_created: int = 0
    users_updated: int = 0
    users_skipped: int = Field(0, description="guardians, parents, relatives, counsellors")
    courses_created: int = 0
    courses_updated: int = 0
    enrolments_created: int = 0
    enrolments_updated: int = 0
    enrolments_removed: int = 0
    errors: list[FileRowError] = Field(default_factory=list)
