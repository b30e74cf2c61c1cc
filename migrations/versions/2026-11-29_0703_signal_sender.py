"""Who sent each signal: a department reviews its own unmatched rows.

Revision ID: 3c1f0e5a9d21
Revises: 7422da1c98c8
Create Date: 2026-11-29 07:03:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c1f0e5a9d21"
down_revision: str | None = "7422da1c98c8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_signal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_by", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_signal", schema=None) as batch_op:
        batch_op.drop_column("sent_by")
