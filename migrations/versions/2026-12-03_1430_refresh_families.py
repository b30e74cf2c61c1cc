"""Refresh-token families: one per login, the token that may be used next and the one it replaced.

Revision ID: a5cf490cbc0f
Revises: 5b7d2e9c4a10
Create Date: 2026-12-03 14:30:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a5cf490cbc0f"
down_revision: str | None = "5b7d2e9c4a10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refresh_family",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_jti", sa.String(length=32), nullable=False),
        sa.Column("current_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_jti", sa.String(length=32), nullable=True),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_refresh_family_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_family")),
    )
    with op.batch_alter_table("refresh_family", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_family_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refresh_family", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_family_user_id"))
    op.drop_table("refresh_family")
