"""xAPI send cursor

``xapi_cursor``: per lesson, the seq up to which its xAPI statements were accepted by the
Learning Record Store (docs/xapi.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "xapi_cursor",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("sent_seq", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["livesession.id"]),
        sa.PrimaryKeyConstraint("session_id"),
    )


def downgrade() -> None:
    op.drop_table("xapi_cursor")
