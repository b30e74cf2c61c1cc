"""Outgoing messages: written in the same transaction as the change they announce (a transactional
outbox), delivered by the worker with retries, parked as dead after too many failures, never lost."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow


class Deliverable:
    """What a message of any outbox carries for the delivery core (app/services/platform/delivery.py)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A worker's claim, committed before it posts: other workers skip the message until the lease ends,
    # and a crashed worker's claim simply lapses.
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    delivered_at: Mapped[datetime | None]
    last_status: Mapped[int | None]  # the HTTP status of the last attempt (None: no answer)
    last_error: Mapped[str | None] = mapped_column(Text)  # a generic reason: the detail goes to the log


class WebhookEndpoint(Base):
    """A region's webhook: case ids and steps posted to an allow-listed URL, signed with its secret."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)  # a village, township or the county
    url: Mapped[str] = mapped_column(String(500))
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAllowedHost(Base):
    """A host region webhooks may point at: the allow-list is data, which an admin changes through the API."""

    __tablename__ = "webhook_allowed_host"

    host: Mapped[str] = mapped_column(String(253), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(80))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Deliverable, Base):
    __tablename__ = "outbox_message"

    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),)
