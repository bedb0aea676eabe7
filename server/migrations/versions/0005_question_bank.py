"""question bank

``bank_item``: polls and embedded questions prepared for a course, with their checked prompt
and key. ``lesson_item``: bank items attached to a lesson, embedded questions with a
lesson-clock position.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("use", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bank_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_item_course_id"), ["course_id"], unique=False)
    op.create_table(
        "lesson_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["bank_item.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["livesession.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "item_id"),
    )
    with op.batch_alter_table("lesson_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lesson_item_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lesson_item_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lesson_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lesson_item_session_id"))
        batch_op.drop_index(batch_op.f("ix_lesson_item_item_id"))
    op.drop_table("lesson_item")
    with op.batch_alter_table("bank_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_item_course_id"))
    op.drop_table("bank_item")
