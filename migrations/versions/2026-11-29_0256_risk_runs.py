"""Risk runs, their per-household results, and job leases (one run at a time).

Revision ID: 3e1dc1240c13
Revises: fb8de32cb56c
Create Date: 2026-11-29 02:56:25.665277+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e1dc1240c13"
down_revision: str | None = "fb8de32cb56c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_lease",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_lease")),
    )
    op.create_table(
        "risk_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("triggered_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("households_scored", sa.Integer(), nullable=False),
        sa.Column("flagged_high", sa.Integer(), nullable=False),
        sa.Column("flagged_medium", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["policy_version.version"],
            name=op.f("fk_risk_run_policy_version_policy_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_run")),
    )
    with op.batch_alter_table("risk_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_run_status"), ["status"], unique=False)

    op.create_table(
        "risk_result",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("reason_codes", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["risk_run.id"], name=op.f("fk_risk_result_run_id_risk_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "household_id", name=op.f("pk_risk_result")),
    )
    with op.batch_alter_table("risk_result", schema=None) as batch_op:
        batch_op.create_index("ix_risk_result_household_id_run_id", ["household_id", "run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_result", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_result_household_id_run_id")

    op.drop_table("risk_result")
    with op.batch_alter_table("risk_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_run_status"))

    op.drop_table("risk_run")
    op.drop_table("job_lease")
