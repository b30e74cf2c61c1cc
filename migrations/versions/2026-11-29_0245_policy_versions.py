"""Policy versions, seeded with version 1: the defaults of ../shared/DOMAIN.md.

Revision ID: fb8de32cb56c
Revises: 52c63e73e9d8
Create Date: 2026-11-29 02:45:33.012279+00:00

"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# A snapshot of the defaults at this revision (migrations never import the app's code).
DEFAULT_POLICY = {
    "monitoring_lines": [
        {"year": 2021, "amount": "6000.00", "verified": True, "source": "national floor (DOMAIN.md)"},
        {"year": 2022, "amount": "7000.00", "verified": False, "source": "interpolated default"},
        {"year": 2023, "amount": "8050.00", "verified": True, "source": "Yunnan 2023"},
        {"year": 2024, "amount": "8400.00", "verified": False, "source": "interpolated default"},
        {"year": 2025, "amount": "8700.00", "verified": True, "source": "云农办通〔2025〕1号"},
        {"year": 2026, "amount": "8700.00", "verified": False, "source": "2025 carried forward"},
    ],
    "sharp_drop_margin": "1.5",
    "sharp_drop_share": "0.30",
    "medical_spending_share": "0.30",
    "education_spending_share": "0.30",
    "labour_share_max": "0.25",
    "event_loss_share": "0.30",
    "high_probability": "0.50",
    "medium_probability": "0.20",
    "cold_start_min_examples": 5000,
    "cold_start_min_positives": 50,
    "case_deadlines": {
        "home_verification": 3,
        "democratic_review": 5,
        "public_notice": 5,
        "township_review": 2,
        "county_approval": 5,
        "total": 15,
    },
}


revision: str = "fb8de32cb56c"
down_revision: str | None = "52c63e73e9d8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "policy_version",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policy_version")),
    )
    op.bulk_insert(
        sa.table(
            "policy_version",
            sa.column("version", sa.Integer),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("created_by", sa.String),
            sa.column("note", sa.String),
            sa.column("data", sa.JSON),
        ),
        [
            {
                "version": 1,
                "created_at": datetime.now(UTC),
                "created_by": "system:default",
                "note": "defaults from DOMAIN.md; unverified lines to be confirmed by the district",
                "data": DEFAULT_POLICY,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("policy_version")
