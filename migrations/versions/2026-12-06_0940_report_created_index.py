"""Reports are found by the day they were sent: a month's screening coverage reads that month's reports
through an index, not the whole table.

Revision ID: 219acc626b02
Revises: 7942478ce700
Create Date: 2026-12-04 23:41:51.811684+00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "219acc626b02"
down_revision: str | None = "7942478ce700"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index("ix_report_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index("ix_report_created_at")
