"""Lesson scores to the LMS gradebook (Assignment and Grade Services 2.0), through a durable
outbox (``lti_grade``), docs/lms.md.

After a lesson ends, and after each catch-up answer, ``kick(session_id)`` recomputes the
scores of the lesson's students who came from an LMS (``server.domain.lti.scores``) for every
resource link that opens the lesson and has a line item. A score that changed gets a new
``version`` and ``timestamp``; an unchanged one nothing. Delivery posts each row whose
``version`` is above ``sent_version`` to ``{lineitem}/scores`` and only then records it sent:
a platform outage leaves it pending (retried with doubling waits, and at the next start); a crash
between the post and the record resends the same version with the same timestamp, which AGS's
replace semantics keep as one result. One recomputation and one delivery run at a time per
process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.lti_models import LtiGrade, LtiPlatform, LtiResourceLink, LtiUserLink
from server.db.models import LiveSession
from server.domain.live import SessionStatus
from server.domain.lti.scores import lesson_scores
from server.domain.reports import ALL
from server.services.lti.keys import tool_key
from server.services.lti.service_token import (
    AGS_LINEITEM,
    AGS_SCORE,
    ServiceError,
    ServiceTokens,
)
from server.services.reports import build_report, course_people, course_sites
from server.settings import Settings
from server.task_stop import stop_tasks

log = logging.getLogger(__name__)
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"


def scores_url(lineitem: str) -> str:
    """``{lineitem}/scores``, keeping a query string where the platform put one."""
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


async def refresh(db: AsyncSession, session_id: int, now: float) -> int:
    """Bring the outbox up to the lesson's log; the number of new versions."""
    live = await db.get(LiveSession, session_id)
    if live is None or live.status is SessionStatus.SCHEDULED:
        return 0
    links = [
        link
        for link in await db.exec(
            select(LtiResourceLink).where(col(LtiResourceLink.session_id) == session_id)
        )
        if link.lineitem_url and AGS_SCORE in link.scopes
    ]
    if not links:
        return 0
    people = await course_people(db, live.course_id)
    report = await build_report(db, live, ALL, people, await course_sites(db, live.course_id))
    if report.window.ended_at is None:  # from the log: the row may not show the end yet
        return 0
    scores = lesson_scores([row.activity for row in report.activities], [p.user_id for p in people])
    changed = 0
    for link in links:
        linked = set(
            await db.exec(
                select(col(LtiUserLink.user_id)).where(
                    col(LtiUserLink.platform_id) == link.platform_id
                )
            )
        )
        rows = {
            g.user_id: g
            for g in await db.exec(select(LtiGrade).where(col(LtiGrade.link_id) == link.id))
        }
        for user_id, score in scores.items():
            if user_id not in linked:
                continue
            row = rows.get(user_id) or LtiGrade(link_id=link.id or 0, user_id=user_id)
            if row.version and (row.score_given, row.score_maximum) == (
                score.given,
                score.maximum,
            ):
                continue
            row.score_given, row.score_maximum = float(score.given), float(score.maximum)
            row.version += 1
            row.timestamp = max(now, row.timestamp + 0.001)
            row.attempts = 0
            db.add(row)
            changed += 1
    await db.commit()
    return changed


class GradeSync:
    """The outbox's background worker."""

    def __init__(
        self, sessions: Any, settings: Settings, http: httpx.AsyncClient, tokens: ServiceTokens
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.http = http
        self.tokens = tokens
        self.tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        # One recomputation at a time: a later one always reads the log after an earlier one,
        # so an older score can never overwrite a newer one.
        self._refresh_lock = asyncio.Lock()
        self.posted = 0
        """Scores the platforms accepted in this process (for logs and tests)."""

    def kick(self, session_id: int | None = None) -> asyncio.Task[None]:
        """Recompute one lesson's scores (None: none) and deliver what is pending."""
        task = asyncio.create_task(self._run(session_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def idle(self) -> None:
        """Wait until every kicked run has finished (tests, shutdown)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def _run(self, session_id: int | None) -> None:
        delay = self.settings.lti_retry_seconds
        for attempt in range(1, self.settings.lti_max_attempts + 1):
            try:
                if session_id is not None:
                    await self.ensure_lineitems(session_id)
                    await self._refresh(session_id)
                await self.deliver()
                return
            except ServiceError as exc:
                log.warning("LTI grades: send failed (attempt %d): %s", attempt, exc)
            if attempt < self.settings.lti_max_attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 600.0)
        log.error("LTI grades: gave up for now; pending scores go at the next lesson end or start")

    async def _refresh(self, session_id: int) -> None:
        async with self._refresh_lock, self.sessions() as db:
            try:
                await refresh(db, session_id, time.time())
            except IntegrityError:  # another node made the same row first: read it again
                await db.rollback()
                await refresh(db, session_id, time.time())

    async def ensure_lineitems(self, session_id: int) -> None:
        """Give each of the lesson's links that has no line item one: the LMS's own for the
        link if it has one (``?resource_link_id=``), else a new one (AGS lineitems)."""
        async with self._refresh_lock, self.sessions() as db:
            links = [
                link
                for link in await db.exec(
                    select(LtiResourceLink).where(col(LtiResourceLink.session_id) == session_id)
                )
                if not link.lineitem_url and link.lineitems_url and AGS_LINEITEM in link.scopes
            ]
            for link in links:
                platform = await db.get(LtiPlatform, link.platform_id)
                if platform is None:
                    continue
                token = await self.tokens.token(platform, await tool_key(db), [AGS_LINEITEM])
                link.lineitem_url = await self._lineitem(link, token)
                db.add(link)
                await db.commit()

    async def _lineitem(self, link: LtiResourceLink, token: str) -> str:
        auth = {"Authorization": f"Bearer {token}"}
        body = {
            "scoreMaximum": 100,
            "label": link.title or f"HyFlex Live lesson {link.session_id}",
            "resourceId": f"lesson-{link.session_id}",
            "resourceLinkId": link.resource_link_id,
        }
        try:
            found = await self.http.get(
                link.lineitems_url,
                params={"resource_link_id": link.resource_link_id},
                headers={**auth, "Accept": LINEITEMS_TYPE},
            )
            items = found.json() if found.is_success else None
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        return str(item["id"])[:1000]
            made = await self.http.post(
                link.lineitems_url, json=body, headers={**auth, "Content-Type": LINEITEM_TYPE}
            )
            item = made.json() if made.is_success else None
        except (httpx.HTTPError, ValueError) as exc:
            raise ServiceError(f"the LMS could not be reached ({type(exc).__name__})") from exc
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ServiceError(f"the LMS answered {made.status_code} to a new line item")
        return str(item["id"])[:1000]

    async def deliver(self) -> int:
        """Post every pending score once; ServiceError (after recording it) on a failure."""
        async with self._lock, self.sessions() as db:
            pending = list(
                await db.exec(
                    select(LtiGrade, LtiResourceLink, LtiPlatform, LtiUserLink)
                    .where(col(LtiGrade.version) > col(LtiGrade.sent_version))
                    .where(col(LtiResourceLink.id) == col(LtiGrade.link_id))
                    .where(col(LtiPlatform.id) == col(LtiResourceLink.platform_id))
                    .where(col(LtiUserLink.platform_id) == col(LtiPlatform.id))
                    .where(col(LtiUserLink.user_id) == col(LtiGrade.user_id))
                    .order_by(col(LtiGrade.id))
                )
            )
            sent = 0
            for grade, link, platform, user in pending:
                try:
                    await self._post(db, grade, link, platform, user.sub)
                except ServiceError as exc:
                    grade.attempts += 1
                    grade.last_error = str(exc)[:300]
                    db.add(grade)
                    await db.commit()
                    raise
                grade.sent_version = grade.version
                grade.last_error = None
                db.add(grade)
                await db.commit()
                sent += 1
                self.posted += 1
            return sent

    async def _post(
        self, db: AsyncSession, grade: LtiGrade, link: LtiResourceLink, platform: LtiPlatform,
        sub: str,
    ) -> None:  # fmt: skip
        token = await self.tokens.token(platform, await tool_key(db), [AGS_SCORE])
        body = {
            "userId": sub,
            "scoreGiven": grade.score_given,
            "scoreMaximum": grade.score_maximum,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "timestamp": datetime.fromtimestamp(grade.timestamp, UTC).isoformat(),
        }
        try:
            resp = await self.http.post(
                scores_url(link.lineitem_url),
                json=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": SCORE_TYPE},
            )
        except httpx.HTTPError as exc:
            raise ServiceError(f"the LMS could not be reached ({type(exc).__name__})") from exc
        if resp.status_code == 401:
            self.tokens.forget(platform)
        if not resp.is_success:
            raise ServiceError(f"the LMS answered {resp.status_code} to a score")

    async def start(self) -> None:
        self.kick(None)  # what an outage or a stop left pending

    async def close(self) -> None:
        await stop_tasks(list(self.tasks))
