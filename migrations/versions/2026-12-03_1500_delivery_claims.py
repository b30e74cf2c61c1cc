"""Outbox messages are claimed (a lease) before they are posted outside any transaction; a relief
application keeps the platform account that sent it (its key signs the messages back); webhook URLs
keep no credentials.

Existing applications take their account from the audit log, where each one's receipt names it.
User names and passwords in stored webhook URLs are removed (the receiver checks the signature).

Revision ID: 590a70c8e859
Revises: a5cf490cbc0f
Create Date: 2026-12-03 15:00:00.000000+00:00

"""

from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from alembic import op

revision: str = "590a70c8e859"
down_revision: str | None = "a5cf490cbc0f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOXES = ("outbox_message", "relief_message")


def upgrade() -> None:
    for table in OUTBOXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
    with op.batch_alter_table("relief_application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("platform_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_relief_application_platform_user_id_user_account"),
            "user_account",
            ["platform_user_id"],
            ["id"],
        )
    _accounts_from_audit()
    _strip_credentials()


def _accounts_from_audit() -> None:
    applications = sa.table("relief_application", sa.column("id", sa.Integer), sa.column("platform_user_id"))
    audit = sa.table(
        "audit_entry",
        sa.column("seq", sa.BigInteger),
        sa.column("actor_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_id", sa.String),
    )
    users = sa.table("user_account", sa.column("id", sa.Integer))
    sender = (
        sa.select(audit.c.actor_id)
        .where(
            audit.c.action == "relief.application",
            audit.c.entity == "relief_application",
            audit.c.entity_id == sa.cast(applications.c.id, sa.String),
            audit.c.actor_id.in_(sa.select(users.c.id)),
        )
        .order_by(audit.c.seq)
        .limit(1)
        .scalar_subquery()
    )
    op.execute(
        applications.update().where(applications.c.platform_user_id.is_(None)).values(platform_user_id=sender)
    )


def _strip_credentials() -> None:
    endpoints = sa.table("webhook_endpoint", sa.column("id", sa.Integer), sa.column("url", sa.String))
    bind = op.get_bind()
    for endpoint_id, url in bind.execute(
        sa.select(endpoints.c.id, endpoints.c.url).where(endpoints.c.url.like("%@%"))
    ).all():
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if "@" in parts.netloc:
            clean = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
            bind.execute(endpoints.update().where(endpoints.c.id == endpoint_id).values(url=clean))


def downgrade() -> None:
    with op.batch_alter_table("relief_application", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_relief_application_platform_user_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("platform_user_id")
    for table in OUTBOXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("claim_token")
            batch_op.drop_column("claimed_until")
