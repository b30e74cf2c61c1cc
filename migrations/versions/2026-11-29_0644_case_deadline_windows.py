"""Case deadlines as windows per level (village 10 days with the notice ≥ 5, township 3, district 2) and
each case's decision deadline.

The policy's deadlines were days per step. This revision adds a policy version whose deadlines are
windows per level: the untouched old defaults become the new defaults, and custom values become the sums
they added up to. Open cases get a decision deadline 15 days after they were opened.

Revision ID: ec2f8bfcbc9b
Revises: 9833243e39dd
Create Date: 2026-11-29 06:44:52.791114+00:00

"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "ec2f8bfcbc9b"
down_revision: str | None = "9833243e39dd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_DEFAULTS = {
    "home_verification": 3,
    "democratic_review": 5,
    "public_notice": 5,
    "township_review": 2,
    "county_approval": 5,
    "total": 15,
}
NEW_DEFAULTS = {"village": 10, "public_notice": 5, "township": 3, "district": 2}
AUTHOR = "system:migration"
NOTE = "case deadlines per level: village 10 days (notice ≥ 5), township 3, district 2"

policy = sa.table(
    "policy_version",
    sa.column("version", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("created_by", sa.String),
    sa.column("note", sa.String),
    sa.column("data", sa.JSON),
)
case_file = sa.table(
    "case_file",
    sa.column("id", sa.Integer),
    sa.column("opened_at", sa.DateTime(timezone=True)),
    sa.column("decision_due_at", sa.DateTime(timezone=True)),
)


def _windows(old: dict[str, Any]) -> dict[str, int]:
    if "village" in old:
        return dict(old)
    if old == OLD_DEFAULTS:
        return dict(NEW_DEFAULTS)
    return {
        "village": old["home_verification"] + old["democratic_review"] + old["public_notice"],
        "public_notice": old["public_notice"],
        "township": old["township_review"],
        "district": old["county_approval"],
    }


def upgrade() -> None:
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_due_at", sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    latest = bind.execute(
        sa.select(policy.c.version, policy.c.data).order_by(policy.c.version.desc()).limit(1)
    ).first()
    windows = dict(NEW_DEFAULTS)
    if latest is not None:
        data = dict(latest.data)
        windows = _windows(data.get("case_deadlines", OLD_DEFAULTS))
        bind.execute(
            policy.insert().values(
                version=latest.version + 1,
                created_at=datetime.now(UTC),
                created_by=AUTHOR,
                note=NOTE,
                data=data | {"case_deadlines": windows},
            )
        )
    total = timedelta(days=windows["village"] + windows["township"] + windows["district"])
    for case_id, opened_at in bind.execute(sa.select(case_file.c.id, case_file.c.opened_at)).all():
        bind.execute(
            case_file.update().where(case_file.c.id == case_id).values(decision_due_at=opened_at + total)
        )
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.alter_column("decision_due_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("case_file", schema=None) as batch_op:
        batch_op.drop_column("decision_due_at")
    op.execute(policy.delete().where(policy.c.created_by == AUTHOR, policy.c.note == NOTE))
