"""What a running ``hyflex serve`` records in its data folder (``server.json``), so that
``hyflex demo``, run later from any folder, prints links for that server: its address, and
what the links must agree with (a fingerprint of the signing secret, the database)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import msgspec
from sqlalchemy.engine import make_url

from server.settings import Settings

RECORD_NAME = "server.json"


@dataclass(frozen=True, slots=True)
class ServerRecord:
    url: str
    pid: int
    secret: str  # a fingerprint, never the secret itself
    database: str  # the URL without its password


def fingerprint(secret: str) -> str:
    return hmac.new(secret.encode(), b"hyflex server record", hashlib.sha256).hexdigest()[:16]


def shown_database(settings: Settings) -> str:
    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def describe(settings: Settings, url: str) -> ServerRecord:
    """The record of a server with ``settings`` reached at ``url``, in this process."""
    secret = fingerprint(settings.resolve_secret())
    return ServerRecord(url, os.getpid(), secret, shown_database(settings))


def _path(settings: Settings) -> Path:
    return settings.data_dir / RECORD_NAME


def write(settings: Settings, record: ServerRecord) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _path(settings).write_bytes(msgspec.json.encode(asdict(record)))


def remove(settings: Settings, record: ServerRecord) -> None:
    """Forget ``record`` (on the server's way out), unless another server wrote its own since."""
    if find(settings) == record:
        with contextlib.suppress(FileNotFoundError):
            _path(settings).unlink()


def find(settings: Settings) -> ServerRecord | None:
    """The server running from this data folder, if its process is still alive."""
    try:
        record = msgspec.json.decode(_path(settings).read_bytes(), type=ServerRecord)
    except (FileNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return record if record.pid > 0 and _alive(record.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
