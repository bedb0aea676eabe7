"""The uploaded bundle: one zip or the separate CSV files, read within limits.

A hostile zip (too many members, a member or the whole larger than allowed once inflated,
folders, paths, encryption) is refused before anything is inflated past the limits: sizes are
read from the zip's directory and then enforced again while inflating, since a directory can lie.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Final

from server.domain.oneroster.issues import Issue

KNOWN_FILES: Final = (
    "manifest.csv",
    "orgs.csv",
    "academicSessions.csv",
    "courses.csv",
    "classes.csv",
    "users.csv",
    "roles.csv",
    "enrollments.csv",
)
# Files of the specification this import does not use: accepted and left aside.
IGNORED_FILES: Final = frozenset(
    {
        "categories.csv",
        "classResources.csv",
        "courseResources.csv",
        "demographics.csv",
        "lineItems.csv",
        "lineItemLearningObjectiveIds.csv",
        "lineItemScoreScales.csv",
        "resources.csv",
        "results.csv",
        "resultLearningObjectiveIds.csv",
        "resultScoreScales.csv",
        "scoreScales.csv",
        "userProfiles.csv",
        "userResources.csv",
    }
)


@dataclass(frozen=True, slots=True)
class BundleLimits:
    max_files: int = 24
    max_file_bytes: int = 32 * 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024
    max_zip_bytes: int = 16 * 1024 * 1024


@dataclass
class Bundle:
    files: dict[str, bytes] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """Inflate one member, stopping as soon as it passes ``limit`` bytes."""
    out = bytearray()
    with archive.open(info) as member:
        while chunk := member.read(65536):
            out += chunk
            if len(out) > limit:
                return None
    return bytes(out)


def read_zip(data: bytes, limits: BundleLimits, name: str = "upload.zip") -> Bundle:
    bundle = Bundle()
    if len(data) > limits.max_zip_bytes:
        bundle.issues.append(Issue(name, 0, f"the zip is larger than {limits.max_zip_bytes} bytes"))
        return bundle
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        bundle.issues.append(Issue(name, 0, "this is not a readable zip file"))
        return bundle
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir()]
        if len(members) > limits.max_files:
            bundle.issues.append(
                Issue(name, 0, f"the zip holds {len(members)} files; at most {limits.max_files}")
            )
            return bundle
        declared = sum(i.file_size for i in members)
        if declared > limits.max_total_bytes:
            bundle.issues.append(
                Issue(name, 0, f"the zip inflates to more than {limits.max_total_bytes} bytes")
            )
            return bundle
        total = 0
        for info in members:
            member = info.filename
            if "/" in member or "\\" in member or member.startswith("."):
                bundle.issues.append(
                    Issue(name, 0, f"{member!r}: put the CSV files at the top of the zip")
                )
                continue
            if info.flag_bits & 0x1:
                bundle.issues.append(Issue(member, 0, "encrypted files are not accepted"))
                continue
            if info.file_size > limits.max_file_bytes:
                bundle.issues.append(Issue(member, 0, f"larger than {limits.max_file_bytes} bytes"))
                continue
            try:
                content = _read_member(
                    archive, info, min(limits.max_file_bytes, limits.max_total_bytes - total)
                )
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
                bundle.issues.append(Issue(member, 0, f"cannot be read from the zip ({exc})"))
                continue
            if content is None:
                bundle.issues.append(Issue(member, 0, "inflates past the size limits"))
                return bundle
            total += len(content)
            _add(bundle, member, content)
    return bundle


def read_files(uploads: list[tuple[str, bytes]], limits: BundleLimits) -> Bundle:
    """Separate CSV uploads, or a single zip among them."""
    if len(uploads) == 1 and uploads[0][0].lower().endswith(".zip"):
        return read_zip(uploads[0][1], limits, uploads[0][0])
    bundle = Bundle()
    if len(uploads) > limits.max_files:
        bundle.issues.append(Issue("upload", 0, f"at most {limits.max_files} files at once"))
        return bundle
    total = 0
    for name, content in uploads:
        if name.lower().endswith(".zip"):
            bundle.issues.append(Issue(name, 0, "send either one zip or the CSV files"))
            continue
        if len(content) > limits.max_file_bytes:
            bundle.issues.append(Issue(name, 0, f"larger than {limits.max_file_bytes} bytes"))
            continue
        total += len(content)
        if total > limits.max_total_bytes:
            bundle.issues.append(Issue(name, 0, f"the files pass {limits.max_total_bytes} bytes"))
            return bundle
        _add(bundle, name, content)
    return bundle


def _add(bundle: Bundle, name: str, content: bytes) -> None:
    if name in IGNORED_FILES:
        return
    if name not in KNOWN_FILES:
        bundle.issues.append(
            Issue(name, 0, f"not a OneRoster file this import reads ({', '.join(KNOWN_FILES)})")
        )
    elif name in bundle.files:
        bundle.issues.append(Issue(name, 0, "given twice"))
    else:
        bundle.files[name] = content
