"""Names and Role Provisioning Services 2.0: an LMS course's members, read from its
``context_memberships_url`` (all pages), linked to accounts here (made where missing) and the
learners enrolled in the course the LMS course is mapped to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.lti_models import LtiContext, LtiPlatform
from server.domain.errors import InvalidState
from server.domain.lti.claims import LaunchRefused, map_role
from server.domain.roles import Role
from server.services.lti.accounts import enrol, linked_user
from server.services.lti.keys import tool_key
from server.services.lti.service_token import NRPS_READ, ServiceError, ServiceTokens

MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 100
MAX_MEMBERS = 20_000


@dataclass
class SyncOutcome:
    members: int = 0
    students: int = 0
    teachers: int = 0
    enrolled: int = 0
    skipped: int = 0


async def _pages(http: httpx.AsyncClient, url: str, token: str) -> list[dict[str, Any]]:
    members: list[dict[str, Any]] = []
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if next_url is None or len(members) >= MAX_MEMBERS:
            break
        try:
            resp = await http.get(
                next_url, headers={"Authorization": f"Bearer {token}", "Accept": MEMBERSHIP_TYPE}
            )
        except httpx.HTTPError as exc:
            raise ServiceError(f"the LMS could not be reached ({type(exc).__name__})") from exc
        if not resp.is_success:
            raise ServiceError(f"the LMS answered {resp.status_code} to the roster request")
        try:
            page = resp.json().get("members", [])
        except (ValueError, AttributeError):
            raise ServiceError("the LMS's roster is not readable") from None
        members.extend(m for m in page if isinstance(m, dict))
        next_url = resp.links.get("next", {}).get("url")
    return members[:MAX_MEMBERS]


async def sync_context(
    db: AsyncSession, http: httpx.AsyncClient, tokens: ServiceTokens, context: LtiContext
) -> SyncOutcome:
    platform = await db.get(LtiPlatform, context.platform_id)
    if platform is None or not context.memberships_url:
        raise InvalidState("this LMS course has no roster service: launch the tool from it first")
    token = await tokens.token(platform, await tool_key(db), [NRPS_READ])
    outcome = SyncOutcome()
    for member in await _pages(http, context.memberships_url, token):
        outcome.members += 1
        sub, roles = member.get("user_id"), member.get("roles", [])
        role = map_role([r for r in roles if isinstance(r, str)] if isinstance(roles, list) else [])
        if (
            not isinstance(sub, str)
            or not sub
            or len(sub) > 255
            or role is None
            or member.get("status", "Active") != "Active"
        ):
            outcome.skipped += 1
            continue
        name, email = member.get("name", ""), member.get("email", "")
        try:
            user = await linked_user(
                db,
                platform,
                sub,
                role=role,
                name=name[:200] if isinstance(name, str) else "",
                email=email[:254] if isinstance(email, str) else "",
            )
        except LaunchRefused:  # e.g. an LMS learner linked to a staff account here
            outcome.skipped += 1
            continue
        if role is Role.STUDENT and user.role is Role.STUDENT:
            outcome.students += 1
            assert user.id is not None
            outcome.enrolled += int(await enrol(db, context.course_id, user.id))
        else:
            outcome.teachers += 1
    return outcome
