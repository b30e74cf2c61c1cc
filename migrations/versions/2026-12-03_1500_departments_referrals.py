"""Departments as departments: a department account's department, each department row's department
and amount, and referrals of monitored households' needs to departments.

Revision ID: 8d41c0e7b2f3
Revises: 590a70c8e859
Create Date: 2026-12-03 15:00:00.000000+00:00

"""

import collections
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d41c0e7b2f3"
down_revision: str | None = "590a70c8e859"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("user_account", sa.Column("department", sa.String(length=16), nullable=True))
    op.add_column("case_signal", sa.Column("department", sa.String(length=16), nullable=True))
    op.add_column("case_signal", sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True))
    op.add_column("case_signal", sa.Column("id_number_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("case_signal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_signal_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_signal_id_number_hash"), ["id_number_hash"], unique=False)
    op.create_table(
        "referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=16), nullable=False),
        sa.Column("measure_category", sa.String(length=16), nullable=False),
        sa.Column("need", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("referred_by", sa.String(length=80), nullable=False),
        sa.Column("referred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_by", sa.String(length=80), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=80), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("answer", sa.String(length=500), nullable=True),
        sa.Column("assistance_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assistance_id"], ["assistance.id"], name=op.f("fk_referral_assistance_id_assistance")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_referral_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_referral_household_id"), ["household_id"], unique=False)
    _backfill()


def _backfill() -> None:
    """Rows sent before departments were columns named theirs in the reason; a department account takes
    the department its rows named (an account that sent nothing is given one by an admin)."""
    connection = op.get_bind()
    signals = sa.table(
        "case_signal",
        sa.column("id", sa.Integer),
        sa.column("source", sa.String),
        sa.column("reasons", sa.JSON),
        sa.column("sent_by", sa.String),
        sa.column("department", sa.String),
    )
    users = sa.table(
        "user_account",
        sa.column("username", sa.String),
        sa.column("role", sa.String),
        sa.column("department", sa.String),
    )
    named: dict[str, collections.Counter[str]] = {}
    rows = connection.execute(
        sa.select(signals.c.id, signals.c.reasons, signals.c.sent_by)
        .where(signals.c.source == "department")
        .order_by(signals.c.id)
    )
    for signal_id, reasons, sent_by in rows.all():
        # a matched row names its department in its reason; a kept (unmatched) row in its columns
        found = [r.get("department") or (r.get("row") or {}).get("department") for r in reasons or []]
        department = next((str(d)[:16] for d in found if d), None)
        if department:
            connection.execute(
                signals.update().where(signals.c.id == signal_id).values(department=department)
            )
            if sent_by:
                named.setdefault(sent_by, collections.Counter())[department] += 1
    for username, counts in named.items():
        department = counts.most_common(1)[0][0]  # the department the account sent for most
        connection.execute(
            users.update()
            .where(users.c.username == username, users.c.role == "department_user")
            .values(department=department)
        )


def downgrade() -> None:
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_household_id"))
        batch_op.drop_index(batch_op.f("ix_referral_department"))
    op.drop_table("referral")
    with op.batch_alter_table("case_signal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_signal_id_number_hash"))
        batch_op.drop_index(batch_op.f("ix_case_signal_department"))
        batch_op.drop_column("id_number_hash")
        batch_op.drop_column("amount")
        batch_op.drop_column("department")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("department")
