"""token revocation and command fingerprints

``user.token_generation``: carried in every token issued to the user; raising it (a password
change) makes every earlier token invalid. ``session_event.command_hash``: the fingerprint of
the command whose first event the row is, so a message id reused for a different command is
refused as a conflict, also after a restart.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("session_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("command_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("session_event", schema=None) as batch_op:
        batch_op.drop_column("command_hash")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("token_generation")
