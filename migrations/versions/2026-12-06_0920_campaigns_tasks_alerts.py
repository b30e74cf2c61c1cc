"""Field work: campaigns (集中排查) and the tasks they give each household in scope, follow-up tasks after a
risk elimination (回头看), and cluster alerts. New tables only.

Revision ID: 724484349bcf
Revises: fc02c0a33ace
Create Date: 2026-12-04 22:41:29.197944+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "724484349bcf"
down_revision: str | None = "fc02c0a33ace"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("townships", sa.JSON(), nullable=True),
        sa.Column("household_types", sa.JSON(), nullable=True),
        sa.Column("monitoring_categories", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("opened_by", sa.String(length=80), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(length=80), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_campaign_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    op.create_table(
        "cluster_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("households", sa.JSON(), nullable=False),
        sa.Column("signals", sa.Integer(), nullable=False),
        sa.Column("dominant_reason", sa.String(length=40), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_alert")),
        sa.UniqueConstraint(
            "region_code", "window_start", name=op.f("uq_cluster_alert_region_code_window_start")
        ),
    )
    with op.batch_alter_table("cluster_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cluster_alert_raised_at"), ["raised_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cluster_alert_region_code"), ["region_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cluster_alert_township_code"), ["township_code"], unique=False)

    op.create_table(
        "field_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("months", sa.Integer(), nullable=True),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_field_task_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(["case_id"], ["case_file.id"], name=op.f("fk_field_task_case_id_case_file")),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_field_task_household_id_household")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_field_task_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_task")),
        sa.UniqueConstraint(
            "campaign_id", "household_id", name=op.f("uq_field_task_campaign_id_household_id")
        ),
        sa.UniqueConstraint("case_id", "months", name=op.f("uq_field_task_case_id_months")),
    )
    with op.batch_alter_table("field_task", schema=None) as batch_op:
        batch_op.create_index("ix_field_task_campaign_village", ["campaign_id", "village_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_task_household_id"), ["household_id"], unique=False)
        batch_op.create_index(
            "ix_field_task_open",
            ["kind", "due_on"],
            unique=False,
            sqlite_where=sa.text("done_on IS NULL"),
            postgresql_where=sa.text("done_on IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("field_task", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_field_task_open",
            sqlite_where=sa.text("done_on IS NULL"),
            postgresql_where=sa.text("done_on IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_field_task_household_id"))
        batch_op.drop_index("ix_field_task_campaign_village")

    op.drop_table("field_task")
    with op.batch_alter_table("cluster_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_alert_township_code"))
        batch_op.drop_index(batch_op.f("ix_cluster_alert_region_code"))
        batch_op.drop_index(batch_op.f("ix_cluster_alert_raised_at"))

    op.drop_table("cluster_alert")
    op.drop_table("campaign")
