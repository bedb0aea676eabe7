"""Who may publish what, and whose media each participant receives (pure rules, no I/O).

Media participant ids (one per user or room; the relay keys both legs by it):

- the teacher (or an admin standing in) publishes the lesson feed as ``teacher``: camera,
  microphone and screen. A later leader's publish replaces the earlier one (one lead feed);
- a facilitator publishes their site's room feed as ``site-<site_id>``: camera and microphone
  (two facilitators of one site share the room feed: the latest publish wins);
- a student publishes as ``user-<user_id>`` (camera, microphone) only while on stage.

Receiving: students and facilitators get the teacher (all three labels) plus the stage; the
teacher gets every site's room feed plus the stage; an admin gets the teacher and the sites.
The stage shows the participant most recently brought on stage (a student or a whole site)
to everyone but themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from server.domain.errors import NotPermitted
from server.domain.roles import Actor, Role

TEACHER_ID: Final = "teacher"
LEAD_LABELS: Final = ("microphone", "camera", "screen")
ROOM_LABELS: Final = ("microphone", "camera")
STUDENT_OFF_STAGE: Final = "Students send video only while the teacher has them on stage."


def site_pid(site_id: int) -> str:
    return f"site-{site_id}"


def user_pid(user_id: int) -> str:
    return f"user-{user_id}"


def own_pid(actor: Actor) -> str:
    """The id under which this actor's legs live in the relay."""
    if actor.role == Role.TEACHER:
        return TEACHER_ID
    if actor.role == Role.ADMIN:
        return f"admin-{actor.user_id}"
    if actor.role == Role.FACILITATOR:
        if actor.site_id is None:
            raise NotPermitted("A facilitator without a site has no room feed to send.")
        return site_pid(actor.site_id)
    return user_pid(actor.user_id)


@dataclass(frozen=True, slots=True)
class PublishRight:
    publisher_id: str
    labels: tuple[str, ...]


def publish_right(actor: Actor, on_stage: bool) -> PublishRight:
    """What ``actor`` may publish now; NotPermitted when nothing."""
    if actor.leads_session:
        return PublishRight(TEACHER_ID, LEAD_LABELS)
    if actor.role == Role.FACILITATOR:
        if actor.site_id is None:
            raise NotPermitted("A facilitator without a site has no room feed to send.")
        return PublishRight(site_pid(actor.site_id), ROOM_LABELS)
    if not on_stage:
        raise NotPermitted(STUDENT_OFF_STAGE)
    return PublishRight(user_pid(actor.user_id), ROOM_LABELS)


def subscribable(actor: Actor, site_ids: Iterable[int]) -> tuple[list[str], list[str]]:
    """(default publishers, every publisher this actor may receive) besides the stage."""
    sites = [site_pid(s) for s in sorted(set(site_ids))]
    if actor.role == Role.TEACHER:
        return sites, [*sites, TEACHER_ID]
    if actor.role == Role.ADMIN:
        return [TEACHER_ID, *sites], [TEACHER_ID, *sites]
    return [TEACHER_ID], [TEACHER_ID]


def choose_publishers(
    actor: Actor, site_ids: Iterable[int], asked: Sequence[str] | None
) -> list[str]:
    default, allowed = subscribable(actor, site_ids)
    if asked is None:
        return default
    refused = [p for p in asked if p not in allowed]
    if refused:
        raise NotPermitted("You may not receive that video.")
    return list(dict.fromkeys(asked))


def labels_for(publisher_id: str) -> tuple[str, ...]:
    return LEAD_LABELS if publisher_id == TEACHER_ID else ROOM_LABELS


def stage_pid(entry: dict[str, Any]) -> str | None:
    """The relay id of a stage entry (domain data: kind "user"/"site", user_id, site_id)."""
    if entry.get("kind") == "site" and isinstance(entry.get("site_id"), int):
        return site_pid(entry["site_id"])
    if entry.get("kind") == "user" and isinstance(entry.get("user_id"), int):
        return user_pid(entry["user_id"])
    return None
