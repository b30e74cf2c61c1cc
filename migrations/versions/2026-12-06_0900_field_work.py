"""Field work: helpers (帮扶责任人) and their dated assignments to households, visits (走访记录) and their
photos (encrypted, in their own table). New tables only: existing data is untouched.

Revision ID: bfce5db62628
Revises: 6c8a2a4ffe7c
Create Date: 2026-12-04 22:32:15.678375+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bfce5db62628"
down_revision: str | None = "6c8a2a4ffe7c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "helper",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("phone_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("phone_masked", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["region_code"], ["region.code"], name=op.f("fk_helper_region_code_region")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_helper_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_helper")),
        sa.UniqueConstraint("user_id", name=op.f("uq_helper_user_id")),
    )
    with op.batch_alter_table("helper", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_helper_region_code"), ["region_code"], unique=False)

    op.create_table(
        "helper_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("helper_id", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=200), nullable=True),
        sa.Column("assigned_by", sa.String(length=80), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_by", sa.String(length=80), nullable=True),
        sa.CheckConstraint(
            "ended_on IS NULL OR ended_on >= started_on", name=op.f("ck_helper_assignment_period")
        ),
        sa.ForeignKeyConstraint(
            ["helper_id"], ["helper.id"], name=op.f("fk_helper_assignment_helper_id_helper")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_helper_assignment_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_helper_assignment")),
    )
    with op.batch_alter_table("helper_assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_helper_assignment_helper_id"), ["helper_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_helper_assignment_household_id"), ["household_id"], unique=False)
        batch_op.create_index(
            "uq_helper_assignment_current",
            ["household_id"],
            unique=True,
            sqlite_where=sa.text("ended_on IS NULL"),
            postgresql_where=sa.text("ended_on IS NULL"),
        )

    op.create_table(
        "visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("visitors", sa.JSON(), nullable=False),
        sa.Column("findings", sa.String(length=2000), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("client_ref", sa.String(length=64), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_visit_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user_account.id"], name=op.f("fk_visit_recorded_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"], ["case_signal.id"], name=op.f("fk_visit_signal_id_case_signal")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
        sa.UniqueConstraint("household_id", "client_ref", name=op.f("uq_visit_household_id_client_ref")),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_household_id"), ["household_id"], unique=False)
        batch_op.create_index(
            "ix_visit_village_code_visited_on", ["village_code", "visited_on"], unique=False
        )

    op.create_table(
        "visit_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["user_account.id"], name=op.f("fk_visit_photo_uploaded_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_visit_photo_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_photo")),
        sa.UniqueConstraint("visit_id", "sha256", name=op.f("uq_visit_photo_visit_id_sha256")),
    )
    with op.batch_alter_table("visit_photo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_photo_visit_id"), ["visit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("visit_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_photo_visit_id"))

    op.drop_table("visit_photo")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_village_code_visited_on")
        batch_op.drop_index(batch_op.f("ix_visit_household_id"))

    op.drop_table("visit")
    with op.batch_alter_table("helper_assignment", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_helper_assignment_current",
            sqlite_where=sa.text("ended_on IS NULL"),
            postgresql_where=sa.text("ended_on IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_helper_assignment_household_id"))
        batch_op.drop_index(batch_op.f("ix_helper_assignment_helper_id"))

    op.drop_table("helper_assignment")
    with op.batch_alter_table("helper", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_helper_region_code"))

    op.drop_table("helper")
