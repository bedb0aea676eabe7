"""OneRoster sourcedIds

``sourced_id`` on ``school``, ``course`` and ``enrolment``: the OneRoster org, class and
enrollment each was imported from, so that a second import updates them in place
(docs/roster.md). Users already carry theirs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 02:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("school", "course", "enrolment")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("sourced_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
            )
            batch_op.create_unique_constraint(f"uq_{table}_sourced_id", ["sourced_id"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_sourced_id", type_="unique")
            batch_op.drop_column("sourced_id")
