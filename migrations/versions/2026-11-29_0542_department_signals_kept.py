"""Unmatched department rows kept for review: the ID number encrypted, a note.

Revision ID: 45c2c0c22e28
Revises: d8cface100d4
Create Date: 2026-11-29 05:42:23.125710+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "45c2c0c22e28"
down_revision: str | None = "d8cface100d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_signal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_number_encrypted", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("case_signal", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("id_number_encrypted")
