"""Weekly risk lists: a frozen snapshot per ISO week and its entries (never changed once written).

Revision ID: 84154bd8c4d1
Revises: 3c1f0e5a9d21
Create Date: 2026-11-29 07:06:49.670771+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "84154bd8c4d1"
down_revision: str | None = "3c1f0e5a9d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_by", sa.String(length=80), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("decision_days", sa.JSON(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["policy_version.version"],
            name=op.f("fk_risk_list_policy_version_policy_version"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"], ["risk_list.id"], name=op.f("fk_risk_list_previous_id_risk_list")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["risk_run.id"], name=op.f("fk_risk_list_run_id_risk_run"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_list")),
    )
    with op.batch_alter_table("risk_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_list_week"), ["week"], unique=False)
        batch_op.create_index(
            "uq_risk_list_one_current_per_week",
            ["week"],
            unique=True,
            sqlite_where=sa.text("status = 'current'"),
            postgresql_where=sa.text("status = 'current'"),
        )

    op.create_table(
        "risk_list_entry",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("household_no", sa.String(length=32), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("township_name", sa.String(length=64), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("village_name", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("head_name", sa.String(length=50), nullable=True),
        sa.Column("head_id_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("household_type", sa.String(length=16), nullable=False),
        sa.Column("monitoring_category", sa.String(length=16), nullable=False),
        sa.Column("monitoring_status", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("reason_codes", sa.String(length=400), nullable=False),
        sa.Column("risk_types", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("case_step", sa.String(length=24), nullable=True),
        sa.Column("case_days_open", sa.Integer(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("risk_types_without_measure", sa.Integer(), nullable=False),
        sa.Column("risk_types_confirmed", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=12), nullable=False),
        sa.Column("previous_level", sa.String(length=8), nullable=True),
        sa.Column("resolved_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["risk_list.id"],
            name=op.f("fk_risk_list_entry_list_id_risk_list"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "household_id", name=op.f("pk_risk_list_entry")),
    )
    with op.batch_alter_table("risk_list_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_list_entry_order",
            ["list_id", "township_code", "village_code", "household_no"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("risk_list_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_list_entry_order")

    op.drop_table("risk_list_entry")
    with op.batch_alter_table("risk_list", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_risk_list_one_current_per_week",
            sqlite_where=sa.text("status = 'current'"),
            postgresql_where=sa.text("status = 'current'"),
        )
        batch_op.drop_index(batch_op.f("ix_risk_list_week"))

    op.drop_table("risk_list")
