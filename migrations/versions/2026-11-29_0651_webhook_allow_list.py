"""The webhook allow-list as data an admin changes through the API (it was a setting).

The hosts of existing webhooks were on the setting's list when they were added: they are carried over.

Revision ID: 7422da1c98c8
Revises: ec2f8bfcbc9b
Create Date: 2026-11-29 06:51:30.973209+00:00

"""

from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision: str = "7422da1c98c8"
down_revision: str | None = "ec2f8bfcbc9b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    allowed = op.create_table(
        "webhook_allowed_host",
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("added_by", sa.String(length=80), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_webhook_allowed_host")),
    )
    endpoints = sa.table("webhook_endpoint", sa.column("url", sa.String))
    urls = op.get_bind().execute(sa.select(endpoints.c.url)).scalars()
    hosts = sorted({(urlsplit(url).hostname or "").lower() for url in urls} - {""})
    if hosts:
        now = datetime.now(UTC)
        op.bulk_insert(allowed, [{"host": h, "added_by": "system:migration", "added_at": now} for h in hosts])


def downgrade() -> None:
    op.drop_table("webhook_allowed_host")
