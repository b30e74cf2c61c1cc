"""Early-warning models (versioned, verified artifacts with their evaluation) and per-result factors.

Revision ID: e3b4ba526081
Revises: 3e1dc1240c13
Create Date: 2026-11-29 03:57:02.189083+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3b4ba526081"
down_revision: str | None = "3e1dc1240c13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("estimator", sa.String(length=200), nullable=False),
        sa.Column("sklearn_version", sa.String(length=32), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("train_from", sa.Date(), nullable=False),
        sa.Column("train_to", sa.Date(), nullable=False),
        sa.Column("test_period", sa.Date(), nullable=False),
        sa.Column("examples_train", sa.Integer(), nullable=False),
        sa.Column("examples_test", sa.Integer(), nullable=False),
        sa.Column("positives_test", sa.Integer(), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(length=400), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["policy_version.version"],
            name=op.f("fk_risk_model_policy_version_policy_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_model")),
    )
    with op.batch_alter_table("risk_model", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_model_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_risk_model_one_active",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    with op.batch_alter_table("risk_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("factors", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("risk_result", schema=None) as batch_op:
        batch_op.drop_column("factors")

    with op.batch_alter_table("risk_model", schema=None) as batch_op:
        batch_op.drop_index("uq_risk_model_one_active")
        batch_op.drop_index(batch_op.f("ix_risk_model_status"))

    op.drop_table("risk_model")
