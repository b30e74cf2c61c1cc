"""Drift profiles: how the model's inputs and scores were distributed in a training window and in each
scoring run (counts per township and bin, as JSON). A new table; no existing row changes.

Revision ID: fb9470b0a110
Revises: 1a1a63a74c45
Create Date: 2026-12-04 19:30:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fb9470b0a110"
down_revision: str | None = "1a1a63a74c45"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("reference_id", sa.Integer(), nullable=True),
        sa.Column("window_from", sa.Date(), nullable=False),
        sa.Column("window_to", sa.Date(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["risk_model.id"],
            name=op.f("fk_risk_profile_model_id_risk_model"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reference_id"],
            ["risk_profile.id"],
            name=op.f("fk_risk_profile_reference_id_risk_profile"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["risk_run.id"], name=op.f("fk_risk_profile_run_id_risk_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_profile")),
        sa.UniqueConstraint("run_id", name=op.f("uq_risk_profile_run_id")),
    )
    with op.batch_alter_table("risk_profile", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_profile_model_id"), ["model_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_profile_model_id"))
    op.drop_table("risk_profile")
