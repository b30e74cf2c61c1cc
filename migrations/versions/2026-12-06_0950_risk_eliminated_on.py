"""A household's risk-elimination day is kept on the household (the decisions export and an imported
record need it): backfilled from the confirmed elimination case of each household whose risk is
eliminated, as the district's (Asia/Shanghai) date of the confirmation.

Revision ID: 4c1e2b7d9a10
Revises: 219acc626b02
Create Date: 2026-12-05 04:00:00+00:00

"""

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "4c1e2b7d9a10"
down_revision: str | None = "219acc626b02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DISTRICT = ZoneInfo("Asia/Shanghai")


def upgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk_eliminated_on", sa.Date(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT c.household_id, MAX(c.closed_at) FROM case_file c "
            "JOIN household h ON h.id = c.household_id "
            "WHERE h.monitoring_status = 'risk_eliminated' AND c.kind = 'elimination' "
            "AND c.outcome = 'confirmed' GROUP BY c.household_id"
        )
    ).all()
    for household_id, closed_at in rows:
        if isinstance(closed_at, str):  # SQLite hands the stored text back
            closed_at = datetime.fromisoformat(closed_at)
        if closed_at.tzinfo is None:
            closed_at = closed_at.replace(tzinfo=UTC)
        bind.execute(
            sa.text("UPDATE household SET risk_eliminated_on = :day WHERE id = :id"),
            {"day": closed_at.astimezone(DISTRICT).date(), "id": household_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("risk_eliminated_on")
