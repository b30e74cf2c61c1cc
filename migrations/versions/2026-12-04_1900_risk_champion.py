"""The champion: which scorer a training installed (the learned model or a baseline) and which one each
run used; an admin's confirmation of a champion that replaces one that can no longer be loaded; and
admins' requests for a training, done by the worker. Earlier models and runs were all the model's.

Revision ID: 5b7e1c9d2a40
Revises: 3c9e2a7d5b11
Create Date: 2026-12-04 19:00:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b7e1c9d2a40"
down_revision: str | None = "3c9e2a7d5b11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("risk_model", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("champion", sa.String(length=24), server_default="model", nullable=False)
        )
        batch_op.add_column(sa.Column("confirmed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        # a champion's decision says why, naming the scorers it passed over: longer than 400 characters
        batch_op.alter_column(
            "decision", existing_type=sa.String(length=400), type_=sa.Text(), existing_nullable=False
        )
    with op.batch_alter_table("risk_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("champion", sa.String(length=24), nullable=True))
    op.execute("UPDATE risk_run SET champion = 'model' WHERE mode = 'model'")
    op.create_table(
        "risk_training_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"], ["risk_model.id"], name=op.f("fk_risk_training_request_model_id_risk_model")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_training_request")),
    )
    with op.batch_alter_table("risk_training_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_training_request_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_training_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_training_request_status"))
    op.drop_table("risk_training_request")
    with op.batch_alter_table("risk_run", schema=None) as batch_op:
        batch_op.drop_column("champion")
    with op.batch_alter_table("risk_model", schema=None) as batch_op:
        batch_op.alter_column(
            "decision", existing_type=sa.Text(), type_=sa.String(length=400), existing_nullable=False
        )
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("confirmed_by")
        batch_op.drop_column("champion")
