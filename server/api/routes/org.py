"""Schools and sites of the consortium."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import col, select

from server.api.deps import DB, Caller
from server.api.schemas import SchoolIn, SchoolOut, SchoolUpdate, SiteIn, SiteOut
from server.db.models import Consortium, School, Site
from server.domain.errors import Conflict, NotFound
from server.domain.roles import STAFF_ROLES, Role
from server.services.access import require_role
from server.services.ids import PathId

router = APIRouter(prefix="/api", tags=["consortium"])


@router.get("/schools", response_model=list[SchoolOut])
async def list_schools(who: Caller, db: DB) -> list[School]:
    require_role(who, STAFF_ROLES, "list schools")
    return list(await db.exec(select(School).order_by(col(School.name))))


@router.post("/schools", response_model=SchoolOut, status_code=status.HTTP_201_CREATED)
async def create_school(body: SchoolIn, who: Caller, db: DB) -> School:
    require_role(who, {Role.ADMIN}, "create schools")
    consortium = (await db.exec(select(Consortium).order_by(col(Consortium.id)))).first()
    if consortium is None or consortium.id is None:
        raise NotFound("no consortium exists yet: run 'hyflex demo' or create one first")
    clash = (
        await db.exec(
            select(School).where((col(School.name) == body.name) | (col(School.code) == body.code))
        )
    ).first()
    if clash is not None:
        raise Conflict(f"a school named {body.name!r} or coded {body.code!r} exists")
    school = School(
        consortium_id=consortium.id, name=body.name, code=body.code, timezone=body.timezone
    )
    db.add(school)
    await db.commit()
    return school


@router.get("/schools/{school_id}", response_model=SchoolOut)
async def get_school(school_id: PathId, who: Caller, db: DB) -> School:
    require_role(who, STAFF_ROLES, "view schools")
    school = await db.get(School, school_id)
    if school is None:
        raise NotFound(f"school {school_id} not found")
    return school


@router.patch("/schools/{school_id}", response_model=SchoolOut)
async def update_school(school_id: PathId, body: SchoolUpdate, who: Caller, db: DB) -> School:
    """Rename a school or set its time zone (the zone lesson times are shown in)."""
    require_role(who, {Role.ADMIN}, "change schools")
    school = await db.get(School, school_id)
    if school is None:
        raise NotFound(f"school {school_id} not found")
    if body.name is not None and body.name != school.name:
        clash = (
            await db.exec(
                select(School).where(
                    col(School.consortium_id) == school.consortium_id,
                    col(School.name) == body.name,
                )
            )
        ).first()
        if clash is not None:
            raise Conflict(f"a school named {body.name!r} exists")
        school.name = body.name
    if body.timezone is not None:
        school.timezone = body.timezone
    db.add(school)
    await db.commit()
    return school


@router.get("/sites", response_model=list[SiteOut])
async def list_sites(who: Caller, db: DB) -> list[Site]:
    require_role(who, STAFF_ROLES, "list sites")
    query = select(Site).order_by(col(Site.name))
    if who.role == Role.FACILITATOR:
        query = query.where(col(Site.id) == who.home_site_id)
    return list(await db.exec(query))


@router.post("/sites", response_model=SiteOut, status_code=status.HTTP_201_CREATED)
async def create_site(body: SiteIn, who: Caller, db: DB) -> Site:
    require_role(who, {Role.ADMIN}, "create sites")
    if await db.get(School, body.school_id) is None:
        raise NotFound(f"school {body.school_id} not found")
    clash = (
        await db.exec(
            select(Site).where(
                ((col(Site.school_id) == body.school_id) & (col(Site.name) == body.name))
                | (col(Site.code) == body.code)
            )
        )
    ).first()
    if clash is not None:
        raise Conflict(f"a site named {body.name!r} at that school, or coded {body.code!r}, exists")
    site = Site(school_id=body.school_id, name=body.name, code=body.code)
    db.add(site)
    await db.commit()
    return site


@router.get("/sites/{site_id}", response_model=SiteOut)
async def get_site(site_id: PathId, who: Caller, db: DB) -> Site:
    require_role(who, STAFF_ROLES, "view sites")
    site = await db.get(Site, site_id)
    if site is None or (who.role == Role.FACILITATOR and who.home_site_id != site_id):
        raise NotFound(f"site {site_id} not found")
    return site
