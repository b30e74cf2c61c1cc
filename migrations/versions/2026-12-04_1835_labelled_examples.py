"""Verifier decisions as labelled examples: one per identification case decided confirmed or rejected,
with the features on record at its signal and the scorer's opinion then.

Cases decided before this revision get theirs from `shouwang risk labels` (the features are computed by
the risk engine, which a migration does not import).

Revision ID: 1a1a63a74c45
Revises: 5b7e1c9d2a40
Create Date: 2026-12-04 18:35:25.382374+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1a1a63a74c45"
down_revision: str | None = "5b7e1c9d2a40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "labelled_example",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("case_source", sa.String(length=24), nullable=False),
        sa.Column("signal_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signal_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("decided_step", sa.String(length=24), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("rules_level", sa.String(length=8), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("model_level", sa.String(length=8), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("champion", sa.String(length=24), nullable=True),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("features_exact", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_labelled_example_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_labelled_example_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["policy_version"],
            ["policy_version.version"],
            name=op.f("fk_labelled_example_policy_version_policy_version"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["risk_run.id"], name=op.f("fk_labelled_example_run_id_risk_run"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labelled_example")),
        sa.UniqueConstraint("case_id", name=op.f("uq_labelled_example_case_id")),
    )
    with op.batch_alter_table("labelled_example", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labelled_example_decided_on"), ["decided_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_labelled_example_household_id"), ["household_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_labelled_example_township_code"), ["township_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("labelled_example", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labelled_example_township_code"))
        batch_op.drop_index(batch_op.f("ix_labelled_example_household_id"))
        batch_op.drop_index(batch_op.f("ix_labelled_example_decided_on"))
    op.drop_table("labelled_example")
