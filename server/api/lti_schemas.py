"""Request and response bodies of the LTI registration API (``/api/lti``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=1000)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)]


class PlatformIn(BaseModel):
    """An LMS registration, as the LMS shows it once the tool is added there."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
    issuer: Text
    client_id: Text
    deployment_ids: list[Text] = Field(default_factory=list, max_length=100)
    auth_login_url: Url
    token_url: Url
    jwks_url: Url
    token_audience: Annotated[str, StringConstraints(max_length=1000)] = ""
    link_by_email: bool = False


class PlatformOut(PlatformIn):
    model_config = ConfigDict(extra="ignore")
    id: int


class ToolOut(BaseModel):
    """What an LMS asks for when the tool is registered there (docs/lms.md)."""

    login_url: str
    launch_url: str
    deep_link_url: str
    jwks_url: str
    scopes: list[str]


class ContextOut(BaseModel):
    id: int
    platform_id: int
    context_id: str
    course_id: int
    title: str
    roster_service: bool


class SyncOut(BaseModel):
    members: int
    students: int
    teachers: int
    enrolled: int
    skipped: int
