"""Weekly lists keep each entry's helper (帮扶责任人) as it was when the list was made; a monitored entry
without one is a gap in the summary. Lists made before are marked: their entries never recorded a helper.

Revision ID: fc02c0a33ace
Revises: bfce5db62628
Create Date: 2026-12-04 22:36:13.264314+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fc02c0a33ace"
down_revision: str | None = "bfce5db62628"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("risk_list", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("helpers_recorded", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("risk_list_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("helper_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("helper_name", sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("risk_list_entry", schema=None) as batch_op:
        batch_op.drop_column("helper_name")
        batch_op.drop_column("helper_id")

    with op.batch_alter_table("risk_list", schema=None) as batch_op:
        batch_op.drop_column("helpers_recorded")
