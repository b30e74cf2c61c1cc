"""The relief platform: signing keys, applications, the outbox of messages back; provisional households.

Revision ID: e8aae03e15fa
Revises: 84154bd8c4d1
Create Date: 2026-11-29 07:30:03.555852+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8aae03e15fa"
down_revision: str | None = "84154bd8c4d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "relief_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relief_message")),
        sa.UniqueConstraint(
            "application_id", "sequence", name=op.f("uq_relief_message_application_id_sequence")
        ),
        sa.UniqueConstraint("message_id", name=op.f("uq_relief_message_message_id")),
    )
    with op.batch_alter_table("relief_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relief_message_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_relief_message_status"), ["status"], unique=False)

    op.create_table(
        "platform_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("retires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_platform_key_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_key")),
        sa.UniqueConstraint("key_id", name=op.f("uq_platform_key_key_id")),
    )
    with op.batch_alter_table("platform_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_platform_key_user_id"), ["user_id"], unique=False)

    op.create_table(
        "relief_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("difficulty_type", sa.String(length=16), nullable=False),
        sa.Column("declared_size", sa.Integer(), nullable=False),
        sa.Column("provisional_household", sa.Boolean(), nullable=False),
        sa.Column("payload_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amendments", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_file.id"], name=op.f("fk_relief_application_case_id_case_file")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_relief_application_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relief_application")),
        sa.UniqueConstraint("application_id", name=op.f("uq_relief_application_application_id")),
    )
    with op.batch_alter_table("relief_application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relief_application_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_relief_application_household_id"), ["household_id"], unique=False
        )

    # a plain ADD COLUMN (no table copy: the household table is the largest but one)
    op.add_column(
        "household", sa.Column("provisional", sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("provisional")

    with op.batch_alter_table("relief_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relief_application_household_id"))
        batch_op.drop_index(batch_op.f("ix_relief_application_case_id"))

    op.drop_table("relief_application")
    with op.batch_alter_table("platform_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_platform_key_user_id"))

    op.drop_table("platform_key")
    with op.batch_alter_table("relief_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relief_message_status"))
        batch_op.drop_index(batch_op.f("ix_relief_message_application_id"))

    op.drop_table("relief_message")
