"""Weekly lists keep the head's ID number masked as well as encrypted, computed when the list is made, so an
export decrypts nothing. Lists made before stay as they are (their exports mask the encrypted number).

Revision ID: 7d3a9c51e2b4
Revises: f21791ec8e7b
Create Date: 2026-12-06 00:40:00+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3a9c51e2b4"
down_revision: str | None = "f21791ec8e7b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("risk_list_entry", sa.Column("head_id_masked", sa.String(length=18), nullable=True))


def downgrade() -> None:
    op.drop_column("risk_list_entry", "head_id_masked")
