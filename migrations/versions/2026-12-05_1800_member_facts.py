"""Dated member facts: health, labour capacity, disability grade, schooling, school level, dropout reason,
低保 and 特困 each hold from a date to a date (member_fact), so the risk model trained on a past period
sees the members as they were then.

Every member's recorded (non-null) fact becomes a fact that holds from the district's local date of the
member's record (its created_at; not before the member's birth) with no end: what is recorded was known
from then, and nothing is known of it before. The member's columns keep the values (they show today's).

Revision ID: 6c8a2a4ffe7c
Revises: fb9470b0a110
Create Date: 2026-12-05 18:00:00.000000+00:00

"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from app.config import get_settings

revision: str = "6c8a2a4ffe7c"
down_revision: str | None = "fb9470b0a110"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# member column -> its value as the fact's text
FACT_VALUES = {
    "health": "health",
    "labour_capacity": "labour_capacity",
    "disability_grade": "CAST(disability_grade AS VARCHAR(16))",
    "schooling": "schooling",
    "school_level": "school_level",
    "dropout_reason": "dropout_reason",
    "dibao": "CASE WHEN dibao THEN 'true' ELSE 'false' END",
    "tekun": "CASE WHEN tekun THEN 'true' ELSE 'false' END",
}
RECORDED_BY = "system:migration"


def upgrade() -> None:
    op.create_table(
        "member_fact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("fact", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=16), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_member_fact_period")),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_member_fact_member_id_member")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_fact")),
    )
    with op.batch_alter_table("member_fact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_fact_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "uq_member_fact_open",
            ["member_id", "fact"],
            unique=True,
            sqlite_where=sa.text("valid_to IS NULL AND superseded_at IS NULL"),
            postgresql_where=sa.text("valid_to IS NULL AND superseded_at IS NULL"),
        )
    facts_from_records(get_settings().timezone)


def facts_from_records(zone: str) -> None:
    """Each member's non-null facts, holding from the local date of its record (not before birth)."""
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        valid_from = "GREATEST(CAST(timezone(:zone, created_at) AS DATE), birth_date)"
    else:
        # SQLite has no time zones: the date is worked out in Python, row by row inside the INSERT
        connection.connection.driver_connection.create_function(  # type: ignore[union-attr]
            "fact_valid_from", 3, _valid_from, deterministic=True
        )
        valid_from = "fact_valid_from(created_at, birth_date, :zone)"
    for column, value in FACT_VALUES.items():
        connection.execute(
            sa.text(
                "INSERT INTO member_fact (member_id, fact, value, valid_from, valid_to, recorded_at,"
                f" recorded_by) SELECT id, '{column}', {value}, {valid_from}, NULL, updated_at, :by"
                f" FROM member WHERE {column} IS NOT NULL"
            ),
            {"zone": zone, "by": RECORDED_BY},
        )


def _valid_from(created_at: str, birth_date: str, zone: str) -> str:
    """SQLite: the district's date of a stored UTC moment, or the birth date if later (ISO text)."""
    moment = datetime.fromisoformat(created_at)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return max(moment.astimezone(ZoneInfo(zone)).date(), date.fromisoformat(birth_date)).isoformat()


def downgrade() -> None:
    with op.batch_alter_table("member_fact", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_member_fact_open",
            sqlite_where=sa.text("valid_to IS NULL AND superseded_at IS NULL"),
            postgresql_where=sa.text("valid_to IS NULL AND superseded_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_member_fact_member_id"))
    op.drop_table("member_fact")
