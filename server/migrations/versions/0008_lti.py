"""LTI 1.3 tool

Platforms and deployments, the tool's key pair, used nonces, LMS contexts and resource links
mapped to courses and lessons, LMS users linked to ours, the grade outbox (docs/lms.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 02:16:53.009630
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lti_platform",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("issuer", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("auth_login_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("token_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("jwks_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("token_audience", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("link_by_email", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "client_id"),
    )
    with op.batch_alter_table("lti_platform", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_platform_issuer"), ["issuer"], unique=False)

    op.create_table(
        "lti_tool_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("private_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "lti_deployment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "deployment_id"),
    )
    with op.batch_alter_table("lti_deployment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lti_deployment_platform_id"), ["platform_id"], unique=False
        )

    op.create_table(
        "lti_nonce",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "nonce"),
    )
    with op.batch_alter_table("lti_nonce", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_nonce_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "lti_user_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("sub", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "sub"),
    )
    with op.batch_alter_table("lti_user_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_user_link_user_id"), ["user_id"], unique=False)

    op.create_table(
        "lti_context",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("context_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("memberships_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "context_id"),
    )
    with op.batch_alter_table("lti_context", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_context_course_id"), ["course_id"], unique=False)

    op.create_table(
        "lti_resource_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("resource_link_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("lineitem_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("lineitems_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["lti_platform.id"],
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["livesession.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform_id", "resource_link_id"),
    )
    with op.batch_alter_table("lti_resource_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lti_resource_link_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "lti_grade",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("score_given", sa.Float(), nullable=False),
        sa.Column("score_maximum", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sent_version", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["lti_resource_link.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_id", "user_id"),
    )
    with op.batch_alter_table("lti_grade", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_grade_link_id"), ["link_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lti_grade", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_grade_link_id"))

    op.drop_table("lti_grade")
    with op.batch_alter_table("lti_resource_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_resource_link_session_id"))

    op.drop_table("lti_resource_link")
    with op.batch_alter_table("lti_context", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_context_course_id"))

    op.drop_table("lti_context")
    with op.batch_alter_table("lti_user_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_user_link_user_id"))

    op.drop_table("lti_user_link")
    with op.batch_alter_table("lti_nonce", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_nonce_expires_at"))

    op.drop_table("lti_nonce")
    with op.batch_alter_table("lti_deployment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_deployment_platform_id"))

    op.drop_table("lti_deployment")
    op.drop_table("lti_tool_key")
    with op.batch_alter_table("lti_platform", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_platform_issuer"))

    op.drop_table("lti_platform")
