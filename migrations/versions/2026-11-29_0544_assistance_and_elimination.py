"""Assistance measures; a case is an identification or an elimination.

Revision ID: e34cc234fc13
Revises: 45c2c0c22e28
Create Date: 2026-11-29 05:44:05.480211+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e34cc234fc13"
down_revision: str | None = "45c2c0c22e28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assistance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_assistance_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistance")),
    )
    with op.batch_alter_table("assistance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assistance_household_id"), ["household_id"], unique=False)

    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="identification", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_column("kind")

    with op.batch_alter_table("assistance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assistance_household_id"))

    op.drop_table("assistance")
