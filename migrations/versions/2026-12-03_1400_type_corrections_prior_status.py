"""Household type corrections (proposed by the village, decided by the township), and the status a
household had when an identification case opened.

Revision ID: 5b7d2e9c4a10
Revises: e8aae03e15fa
Create Date: 2026-12-03 14:00:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7d2e9c4a10"
down_revision: str | None = "e8aae03e15fa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "household_type_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("from_type", sa.String(length=16), nullable=False),
        sa.Column("to_type", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("proposed_by", sa.String(length=80), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_household_type_correction_household_id_household"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_type_correction")),
    )
    with op.batch_alter_table("household_type_correction", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_type_correction_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_household_type_correction_status"), ["status"], unique=False)
    op.add_column("case_file", sa.Column("prior_status", sa.String(length=24), nullable=True))
    # open identifications of households whose risk was eliminated return there if not confirmed
    op.execute(
        "UPDATE case_file SET prior_status = CASE WHEN household_id IN (SELECT household_id FROM case_file"
        " WHERE kind = 'elimination' AND outcome = 'confirmed') THEN 'risk_eliminated' ELSE 'not_monitored'"
        " END WHERE kind = 'identification' AND status = 'open'"
    )


def downgrade() -> None:
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_column("prior_status")
    with op.batch_alter_table("household_type_correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_type_correction_status"))
        batch_op.drop_index(batch_op.f("ix_household_type_correction_household_id"))
    op.drop_table("household_type_correction")
