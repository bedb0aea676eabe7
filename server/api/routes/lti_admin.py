"""LTI registration by an admin (the LMS platforms and their deployments), the values to give
an LMS, the LMS courses seen in launches, and roster sync from one (Names and Role
Provisioning): ``/api/lti``."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, status
from sqlmodel import col, delete, select

from server.api.deps import DB, Caller, SvcDep
from server.api.lti_schemas import ContextOut, PlatformIn, PlatformOut, SyncOut, ToolOut
from server.db.lti_models import LtiContext, LtiDeployment, LtiPlatform
from server.db.models import Course
from server.domain.errors import InvalidState, NotFound
from server.domain.roles import Role
from server.services.access import require_course_owner, require_role, visible_course
from server.services.ids import PathId
from server.services.lti.roster_sync import sync_context
from server.services.lti.service_token import AGS_LINEITEM, AGS_SCORE, NRPS_READ, ServiceError
from server.services.lti.tool import LtiTool

router = APIRouter(prefix="/api/lti", tags=["lti"])


async def _out(db: DB, platform: LtiPlatform) -> PlatformOut:
    ids = await db.exec(
        select(col(LtiDeployment.deployment_id))
        .where(col(LtiDeployment.platform_id) == platform.id)
        .order_by(col(LtiDeployment.id))
    )
    return PlatformOut.model_validate({**platform.model_dump(), "deployment_ids": list(ids)})


async def _save(db: DB, platform: LtiPlatform, body: PlatformIn) -> PlatformOut:
    for field, value in body.model_dump(exclude={"deployment_ids"}).items():
        setattr(platform, field, value)
    db.add(platform)
    await db.flush()
    await db.exec(delete(LtiDeployment).where(col(LtiDeployment.platform_id) == platform.id))
    for deployment in dict.fromkeys(body.deployment_ids):
        db.add(LtiDeployment(platform_id=platform.id or 0, deployment_id=deployment))
    await db.commit()
    await db.refresh(platform)
    return await _out(db, platform)


@router.get("/tool", response_model=ToolOut)
async def tool_config(who: Caller, svc: SvcDep) -> ToolOut:
    require_role(who, {Role.ADMIN}, "register the tool in an LMS")
    base = svc.settings.base_url
    return ToolOut(
        login_url=f"{base}/lti/login",
        launch_url=f"{base}/lti/launch",
        deep_link_url=f"{base}/lti/launch",
        jwks_url=f"{base}/lti/jwks",
        scopes=[AGS_LINEITEM, AGS_SCORE, NRPS_READ],
    )


@router.get("/platforms", response_model=list[PlatformOut])
async def list_platforms(who: Caller, db: DB) -> list[PlatformOut]:
    require_role(who, {Role.ADMIN}, "see LMS registrations")
    rows = await db.exec(select(LtiPlatform).order_by(col(LtiPlatform.id)))
    return [await _out(db, p) for p in rows]


@router.post("/platforms", response_model=PlatformOut, status_code=status.HTTP_201_CREATED)
async def add_platform(body: PlatformIn, who: Caller, db: DB) -> PlatformOut:
    require_role(who, {Role.ADMIN}, "register an LMS")
    return await _save(db, LtiPlatform.model_validate(body.model_dump()), body)


@router.put("/platforms/{platform_id}", response_model=PlatformOut)
async def change_platform(
    platform_id: PathId, body: PlatformIn, who: Caller, db: DB, request: Request
) -> PlatformOut:
    require_role(who, {Role.ADMIN}, "change an LMS registration")
    platform = await db.get(LtiPlatform, platform_id)
    if platform is None:
        raise NotFound(f"LMS registration {platform_id} not found")
    tool: LtiTool = request.app.state.lti
    tool.tokens.forget(platform)
    return await _save(db, platform, body)


def _context_out(row: LtiContext) -> ContextOut:
    return ContextOut(
        id=row.id or 0,
        platform_id=row.platform_id,
        context_id=row.context_id,
        course_id=row.course_id,
        title=row.title,
        roster_service=bool(row.memberships_url),
    )


@router.get("/contexts", response_model=list[ContextOut])
async def list_contexts(who: Caller, db: DB) -> list[ContextOut]:
    """LMS courses the tool was launched from, each mapped to a course here (a teacher: their
    own courses')."""
    require_role(who, {Role.ADMIN, Role.TEACHER}, "see LMS courses")
    query = select(LtiContext).order_by(col(LtiContext.id))
    if who.role is Role.TEACHER:
        query = query.where(
            col(LtiContext.course_id) == col(Course.id), col(Course.teacher_id) == who.user_id
        )
    return [_context_out(row) for row in await db.exec(query)]


@router.post("/contexts/{context_id}/sync", response_model=SyncOut)
async def sync_roster(context_id: PathId, who: Caller, db: DB, request: Request) -> SyncOut:
    """Read the LMS course's members (Names and Role Provisioning) and link and enrol them."""
    require_role(who, {Role.ADMIN, Role.TEACHER}, "sync a roster from an LMS")
    context = await db.get(LtiContext, context_id)
    if context is None:
        raise NotFound(f"LMS course {context_id} not found")
    course = await visible_course(db, who, context.course_id)
    require_course_owner(who, course, "sync its roster")
    tool: LtiTool = request.app.state.lti
    try:
        outcome = await sync_context(db, tool.http, tool.tokens, context)
    except ServiceError as exc:
        raise InvalidState(f"{exc}: try again later") from None
    return SyncOut(**asdict(outcome))
