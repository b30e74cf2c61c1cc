"""The provincial relief platform (云南省政府救助平台): its signing keys, the applications it sends, and the
messages we post back (a transactional outbox, delivered in order per application)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, utcnow
from app.models.outbox import Deliverable


class PlatformKey(Base):
    """A `platform_client` account's HMAC key. After a rotation the old key is accepted until retires_at."""

    __tablename__ = "platform_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    retires_at: Mapped[datetime | None]  # null: the current key


class ReliefApplication(Base):
    """One application as the platform sent it (its personal data encrypted) and the case it opened."""

    __tablename__ = "relief_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"), index=True)  # null: monitored
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(12))
    difficulty_type: Mapped[str] = mapped_column(String(16))
    declared_size: Mapped[int]
    provisional_household: Mapped[bool] = mapped_column(default=False)
    payload_encrypted: Mapped[bytes] = mapped_column(LargeBinary)  # the latest version, as received
    payload_hash: Mapped[str] = mapped_column(String(64))  # of the latest version
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)  # the 202 body, given again on a repeat
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    amendments: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(24), default="received")  # what the platform was last told
    last_sequence: Mapped[int] = mapped_column(default=0)
    # the platform account that sent it: its key signs the messages back (null: received before this
    # was kept and not found in the audit log)
    platform_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ReliefMessage(Deliverable, Base):
    """A message for the platform, written in the transaction of the change it reports."""

    __tablename__ = "relief_message"

    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    application_id: Mapped[str] = mapped_column(String(64), index=True)
    sequence: Mapped[int]
    event: Mapped[str] = mapped_column(String(24))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending|delivered|dead
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("application_id", "sequence"),)
