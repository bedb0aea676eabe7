"""The docs a newcomer follows stay in step with the code."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from server.domain.engagement.settings import EngagementSettings
from server.domain.reports import BehindSettings
from server.realtime.core.protocol import COMMANDS
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [
        name
        for name in Settings.model_fields
        if name not in ("engagement", "trends") and f"HYFLEX_{name.upper()}" not in readme
    ]
    assert missing == []


def test_every_engagement_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "engagement.md").read_text()
    missing = [f.name for f in dataclasses.fields(EngagementSettings) if f"`{f.name}`" not in doc]
    assert missing == []


def test_every_trends_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    doc = (ROOT / "docs" / "reports.md").read_text()
    missing = [f.name for f in dataclasses.fields(BehindSettings) if f"`{f.name}`" not in doc]
    assert missing == [] and "HYFLEX_TRENDS__" in readme


def test_every_message_type_is_documented() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text()
    missing = [name for name in COMMANDS if f"`{name}`" not in doc]
    assert missing == []


def test_relative_links_in_docs_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            if not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert broken == []
