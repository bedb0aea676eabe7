"""Lesson recordings of a session: list and download, and its live captions as WebVTT, for
whoever may see the session (enrolled students, staff in scope; 404 for everyone else, so
existence is not disclosed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from server.api.deps import DB, Caller, SvcDep
from server.realtime.media.recording import list_recordings, open_recording, session_dir
from server.services.access import visible_session
from server.services.captions import captions_vtt
from server.services.ids import PathId

router = APIRouter(prefix="/api/sessions", tags=["recordings"])


@router.get("/{session_id}/recordings")
async def get_recordings(
    session_id: PathId, who: Caller, db: DB, svc: SvcDep
) -> list[dict[str, Any]]:
    """Finished recordings, oldest first: name, size in bytes, last change, media type."""
    await visible_session(db, who, session_id)
    return [
        {
            "name": item.name,
            "bytes": item.bytes,
            "modified_at": item.modified_at,
            "media_type": item.media_type,
            "url": f"/api/sessions/{session_id}/recordings/{item.name}",
        }
        for item in list_recordings(svc.settings.data_dir, session_id)
    ]


@router.get("/{session_id}/captions.vtt", response_class=Response)
async def download_captions(session_id: PathId, who: Caller, db: DB) -> Response:
    """The lesson's live captions as WebVTT, on the lesson clock (like the recording)."""
    body = await captions_vtt(db, who, session_id)
    return Response(
        body,
        media_type="text/vtt; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="lesson-{session_id}-captions.vtt"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/{session_id}/recordings/{name}", response_class=FileResponse)
async def download_recording(
    session_id: PathId, name: str, who: Caller, db: DB, svc: SvcDep
) -> Any:
    """One recording's file. Only names the listing shows are served."""
    await visible_session(db, who, session_id)
    item = open_recording(svc.settings.data_dir, session_id, name)
    path = session_dir(svc.settings.data_dir, session_id) / item.name
    return FileResponse(path, media_type=item.media_type, filename=item.name)
