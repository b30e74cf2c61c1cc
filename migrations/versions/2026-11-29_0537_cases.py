"""Cases (one open per household, a partial unique index), their timeline, and every signal received.

Revision ID: 2723fd71dd7b
Revises: e3b4ba526081
Create Date: 2026-11-29 05:37:41.586220+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2723fd71dd7b"
down_revision: str | None = "e3b4ba526081"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("township_code", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_case_file_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_file")),
    )
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_file_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_file_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_file_township_code"), ["township_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_file_village_code"), ["village_code"], unique=False)
        batch_op.create_index(
            "uq_case_file_one_open_per_household",
            ["household_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case_file.id"], name=op.f("fk_case_event_case_id_case_file")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_event_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_signal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=24), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case_file.id"], name=op.f("fk_case_signal_case_id_case_file")),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_case_signal_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_signal")),
    )
    with op.batch_alter_table("case_signal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_signal_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_signal_household_id"), ["household_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_signal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_signal_household_id"))
        batch_op.drop_index(batch_op.f("ix_case_signal_case_id"))

    op.drop_table("case_signal")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_event_case_id"))

    op.drop_table("case_event")
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_case_file_one_open_per_household",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_case_file_village_code"))
        batch_op.drop_index(batch_op.f("ix_case_file_township_code"))
        batch_op.drop_index(batch_op.f("ix_case_file_household_id"))
        batch_op.drop_index(batch_op.f("ix_case_file_due_at"))

    op.drop_table("case_file")
