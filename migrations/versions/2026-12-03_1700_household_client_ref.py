"""Households registered from offline drafts: the draft's client_ref (unique per village) and a keyed hash
of the body, so a repeat of the same draft answers the stored household.

Revision ID: 3c9e2a7d5b11
Revises: 8d41c0e7b2f3
Create Date: 2026-12-03 17:00:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c9e2a7d5b11"
down_revision: str | None = "8d41c0e7b2f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("client_body_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_household_village_code_client_ref"), ["village_code", "client_ref"]
        )


def downgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_household_village_code_client_ref"), type_="unique")
        batch_op.drop_column("client_body_hash")
        batch_op.drop_column("client_ref")
