"""Case steps: the notice end, the assignee; the risk types and monitoring start of a confirmed household.

Revision ID: 53200a89dc2f
Revises: 2723fd71dd7b
Create Date: 2026-11-29 05:39:10.966839+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "53200a89dc2f"
down_revision: str | None = "2723fd71dd7b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_ends_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("assigned_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_case_file_assigned_user_id_user_account"),
            "user_account",
            ["assigned_user_id"],
            ["id"],
        )

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk_types", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("monitored_since", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("monitored_since")
        batch_op.drop_column("risk_types")

    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_case_file_assigned_user_id_user_account"), type_="foreignkey")
        batch_op.drop_column("assigned_user_id")
        batch_op.drop_column("notice_ends_on")
