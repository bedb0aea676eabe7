"""LTI 1.3 tables (docs/lms.md): registered platforms and their deployments, the tool's own key
pair, used launch nonces, LMS courses (contexts) and resource links mapped to ours, LMS users
linked to ours, and the grade outbox (one row per student and resource link)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class LtiPlatform(SQLModel, table=True):
    """An LMS registration: what the admin copies from the platform's tool configuration."""

    __tablename__ = "lti_platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    issuer: str = Field(max_length=255, index=True)
    client_id: str = Field(max_length=255)
    auth_login_url: str = Field(max_length=1000)
    token_url: str = Field(max_length=1000)
    jwks_url: str = Field(max_length=1000)
    # The ``aud`` of the tool's client-credentials assertion when the platform wants something
    # other than its token URL (Moodle and Canvas take the token URL: leave empty).
    token_audience: str = Field(default="", max_length=1000)
    # Link a first launch to an existing account with the same e-mail (only for platforms the
    # consortium trusts to assert e-mails); off: every LMS user gets their own account here.
    link_by_email: bool = False


class LtiDeployment(SQLModel, table=True):
    __tablename__ = "lti_deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True)
    deployment_id: str = Field(max_length=255)


class LtiToolKey(SQLModel, table=True):
    """The tool's RSA key pair, generated once (row id 1); its public half is at /lti/jwks."""

    __tablename__ = "lti_tool_key"
    id: int = Field(primary_key=True)
    kid: str = Field(max_length=100)
    private_jwk: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: float


class LtiNonce(SQLModel, table=True):
    """A launch's nonce, stored on first use: a replayed id_token is refused."""

    __tablename__ = "lti_nonce"
    __table_args__ = (UniqueConstraint("platform_id", "nonce"),)
    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id")
    nonce: str = Field(max_length=255)
    expires_at: float = Field(index=True)


class LtiContext(SQLModel, table=True):
    """An LMS course (``context``) mapped to one of ours, with its roster service URL."""

    __tablename__ = "lti_context"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id")
    context_id: str = Field(max_length=255)
    course_id: int = Field(foreign_key="course.id", index=True)
    title: str = Field(default="", max_length=200)
    memberships_url: str = Field(default="", max_length=1000)


class LtiResourceLink(SQLModel, table=True):
    """A link placed in the LMS, opening one lesson; its gradebook column (line item)."""

    __tablename__ = "lti_resource_link"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id")
    resource_link_id: str = Field(max_length=255)
    session_id: int = Field(foreign_key="livesession.id", index=True)
    title: str = Field(default="", max_length=200)
    lineitem_url: str = Field(default="", max_length=1000)
    # Where the tool may create the link's line item when the LMS gave none (AGS lineitems).
    lineitems_url: str = Field(default="", max_length=1000)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class LtiUserLink(SQLModel, table=True):
    """An LMS user (platform + ``sub``) and their account here."""

    __tablename__ = "lti_user_link"
    __table_args__ = (UniqueConstraint("platform_id", "sub"),)
    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id")
    sub: str = Field(max_length=255)
    user_id: int = Field(foreign_key="user.id", index=True)


class LtiGrade(SQLModel, table=True):
    """The grade outbox: a student's latest score for a resource link's line item. ``version``
    rises when the score changes; ``sent_version`` is the last one the platform accepted."""

    __tablename__ = "lti_grade"
    __table_args__ = (UniqueConstraint("link_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="lti_resource_link.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    score_given: float = 0.0
    score_maximum: float = 0.0
    version: int = 0
    sent_version: int = 0
    timestamp: float = 0.0
    """When this version was computed: the AGS ``timestamp`` (a platform keeps the newest)."""
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=300)
