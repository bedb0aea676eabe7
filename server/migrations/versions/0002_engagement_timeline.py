"""engagement timeline

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 07:07:35.481407
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engagement_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("lesson_s", sa.Float(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["livesession.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("engagement_timeline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagement_timeline_at"), ["at"], unique=False)
        batch_op.create_index(
            "ix_engagement_timeline_session_at", ["session_id", "at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_engagement_timeline_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("engagement_timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_timeline_user_id"))
        batch_op.drop_index("ix_engagement_timeline_session_at")
        batch_op.drop_index(batch_op.f("ix_engagement_timeline_at"))
    op.drop_table("engagement_timeline")
