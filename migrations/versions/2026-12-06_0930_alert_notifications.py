"""Notifications of cluster alerts: a notification names a case, or (a cluster alert) the alert and its words.
Existing notifications keep their case.

Revision ID: 7942478ce700
Revises: 724484349bcf
Create Date: 2026-12-04 23:03:18.262025+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7942478ce700"
down_revision: str | None = "724484349bcf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("text", sa.String(length=200), nullable=True))
        batch_op.alter_column("case_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_notification_alert_id_cluster_alert"), "cluster_alert", ["alert_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_notification_alert_id_cluster_alert"), type_="foreignkey")
        batch_op.alter_column("case_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("text")
        batch_op.drop_column("alert_id")
